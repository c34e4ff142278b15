#!/usr/bin/env node
// The `cove` command. The compiled program lives in ../dist (built by `npm ci`).
import { main } from '../dist/main.js';

// A reader that goes away (`cove ls dev | head`) ends the output, not the program with a stack trace.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv).catch((err) => {
  process.stderr.write(`cove: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
