#!/usr/bin/env node
// The agent's executable: what `cove agent` and the drivers run. The compiled program lives in ../dist.
import { main } from '../dist/main.js';

const code = await main(process.argv.slice(2));
// A failed start exits at once, whatever it left open; a clean stop has closed everything and exits by itself.
if (code !== 0) process.exit(code);
