// The image store in other processes, as `cove image build` or another Cove instance uses an images directory:
// the store's sources bundled once (esbuild) into a script that runs one operation and prints its result.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

let bundled: Promise<string> | undefined;

function bundle(): Promise<string> {
  bundled ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-store-process-'));
    const entry = path.join(dir, 'entry.ts');
    const images = fileURLToPath(new URL('../../src/images/index.ts', import.meta.url));
    await writeFile(
      entry,
      [
        `import { ImageStore } from ${JSON.stringify(images)};`,
        'const [dir, op, arg] = process.argv.slice(2);',
        'const log = { info() {}, warn() {}, error() {}, debug() {} };',
        'const store = new ImageStore({ dir, log });',
        'const out = op === "import" ? await store.import(arg) : op === "pull" ? await store.pull(arg) : await store.remove(arg);',
        'process.stdout.write(JSON.stringify(out ?? null));',
      ].join('\n'),
    );
    const out = path.join(dir, 'store.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: out,
      logLevel: 'silent',
    });
    return out;
  })();
  return bundled;
}

/** Runs `store.<op>(arg)` on the images directory in a new process; resolves to its result (JSON). */
export async function inOtherProcess(dir: string, op: 'import' | 'pull' | 'remove', arg: string): Promise<unknown> {
  const script = await bundle();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir, op, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('close', (code) =>
      code === 0 ? resolve(JSON.parse(stdout)) : reject(new Error(`store process failed (${code}): ${stderr}`)),
    );
  });
}
