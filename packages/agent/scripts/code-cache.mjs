#!/usr/bin/env node
// Writes V8's code cache of the agent's bundle (`<bundle>.cache`): starts the bundled agent in this process on
// a loopback port, asks it what a new workspace's first client asks (/health, then one /exec), and saves the
// code of every function compiled so far. Run by scripts/bundle.mjs with the V8 flags the agent runs with; the
// bundle is loaded through the agent's own loader, which settles the heap flags first (bin/bundle-loader.js), so
// the cache is made under the flags the agent then runs under.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadBundle } from '../bin/bundle-loader.js';

const file = path.resolve(process.argv[2] ?? '');
const tmp = await mkdtemp(path.join(os.tmpdir(), 'cove-agent-cache-'));
const token = 'c'.repeat(64);
// The lifecycle messages go to stdout: read here instead of printed.
let output = '';
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  output += chunk;
  const callback = rest.at(-1);
  if (typeof callback === 'function') callback();
  return true;
};
try {
  await rm(`${file}.cache`, { force: true });
  const { exports, script } = loadBundle(file);
  process.env.COVE_AGENT_TOKEN = token;
  process.env.COVE_LOG_LEVEL = 'warn';
  const running = exports.main(['--listen', '127.0.0.1:0', '--workdir', tmp, '--state-dir', path.join(tmp, 'state')]);
  let ready;
  for (let i = 0; i < 2000 && !ready; i++) {
    ready = output
      .split('\n')
      .map((l) => (l.startsWith('{') ? JSON.parse(l) : undefined))
      .find((e) => e?.type === 'ready');
    if (!ready) await new Promise((r) => setTimeout(r, 5));
  }
  if (!ready) throw new Error(`the bundled agent did not start: ${output}`);
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const health = await fetch(`http://127.0.0.1:${ready.port}/health`);
  const exec = await fetch(`http://127.0.0.1:${ready.port}/exec`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ cmd: ['true'] }),
  });
  if (health.status !== 200 || exec.status !== 200) throw new Error(`the bundled agent answered ${health.status}, ${exec.status}`);
  await exec.text();
  const cache = script.createCachedData();
  process.kill(process.pid, 'SIGTERM');
  const code = await running;
  if (code !== 0) throw new Error(`the bundled agent exited ${code}`);
  await writeFile(`${file}.cache`, cache);
  process.stdout.write = write;
} finally {
  await rm(tmp, { recursive: true, force: true });
}
