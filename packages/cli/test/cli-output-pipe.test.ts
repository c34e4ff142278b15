import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../bin/cove.js', import.meta.url));

it('a reader that closes early (`cove … | head -1`) ends the output quietly, exit 0, nothing on stderr', async () => {
  // The reading end is closed before cove writes anything, as `head -1` does once it has its line.
  const child = spawn(process.execPath, [bin, 'search', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  expect(stderr).toBe('');
  expect(code).toBe(0);
});
