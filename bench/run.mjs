#!/usr/bin/env node
// Runs benchmarks against peers on this machine and records the results.
//
//   npm run bench                 every suite but the on-demand ones (the soak)
//   npm run bench -- files-list   one suite (several names allowed)
//   npm run bench -- --smoke      a tiny run of each suite (what `npm test` does), nothing recorded
//   npm run bench -- --summary    rewrite bench/results/README.md from the recorded results
//
// A suite is a module in bench/suites/ whose default export is
//   { name, description, requires?: { command: debianPackage }, run({ smoke, tmp, log }) }
// and whose run() resolves to { figures, ratios, notes? }. A suite with `onDemand: true` runs only when named
// (and in the smoke test). Results go to bench/results/<name>.json
// with the machine, the date and the command, and into the summary bench/results/README.md.
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './lib/machine.mjs';
import { ensureCommands } from './lib/system.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

export async function loadSuites(names = []) {
  const files = (await readdir(path.join(here, 'suites'))).filter((f) => f.endsWith('.mjs')).sort();
  const suites = [];
  for (const file of files) {
    const suite = (await import(pathToFileURL(path.join(here, 'suites', file)).href)).default;
    if (names.length === 0 || names.includes(suite.name)) suites.push(suite);
  }
  return suites;
}

/** Runs one suite in a scratch directory that is removed afterwards. */
export async function runSuite(suite, { smoke }) {
  if (suite.requires) ensureCommands(suite.requires);
  const tmp = await mkdtemp(path.join(os.tmpdir(), `cove-bench-${suite.name}-`));
  try {
    const log = (msg) => process.stderr.write(`[${suite.name}] ${msg}\n`);
    return await suite.run({ smoke, tmp, log });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function record(suite, result, command) {
  const entry = {
    name: suite.name,
    description: suite.description,
    date: new Date().toISOString(),
    command,
    machine: machine(),
    ...result,
  };
  await writeFile(path.join(here, 'results', `${suite.name}.json`), `${JSON.stringify(entry, null, 2)}\n`);
  await writeSummary();
}

async function writeSummary() {
  const dir = path.join(here, 'results');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const lines = [
    '# Benchmark results',
    '',
    'Written by `npm run bench`; each JSON file beside this one holds the full figures, the machine and the command.',
    '',
    '| suite | ratio | value | target | pass | date |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const file of files) {
    const r = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
    for (const [name, q] of Object.entries(r.ratios ?? {})) {
      const target = `${q.kind === 'at_most' ? '≤' : '≥'} ${q.target}`;
      lines.push(`| ${r.name} | ${name} | ${q.value} | ${target} | ${q.pass ? 'yes' : 'NO'} | ${r.date.slice(0, 10)} |`);
    }
  }
  await writeFile(path.join(dir, 'README.md'), `${lines.join('\n')}\n`);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--summary')) return writeSummary();
  const smoke = args.includes('--smoke');
  const names = args.filter((a) => !a.startsWith('--'));
  const suites = (await loadSuites(names)).filter((s) => names.length > 0 || !s.onDemand);
  if (suites.length === 0) throw new Error(`no such suite: ${names.join(', ')}`);
  let failed = false;
  for (const suite of suites) {
    process.stderr.write(`== ${suite.name}: ${suite.description}\n`);
    const result = await runSuite(suite, { smoke });
    process.stdout.write(`${JSON.stringify({ name: suite.name, ...result }, null, 2)}\n`);
    if (!smoke) await record(suite, result, `npm run bench -- ${suite.name}`);
    failed ||= Object.values(result.ratios ?? {}).some((q) => !q.pass);
  }
  if (failed) process.stderr.write('some ratios missed their targets (see above)\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    process.stderr.write(`bench: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
