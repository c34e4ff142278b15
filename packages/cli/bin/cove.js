#!/usr/bin/env node
// The `cove` command. The compiled program lives in ../dist (built by `npm ci`).
import { main } from '../dist/main.js';

main(process.argv).catch((err) => {
  process.stderr.write(`cove: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
