import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { BASE64_WASM } from '../../src/exec/frames/base64-wasm.js';

const frames = fileURLToPath(new URL('../../src/exec/frames/', import.meta.url));

it('the embedded WebAssembly module is base64.wat as wat2wasm assembles it (run frames/assemble.mjs after editing it)', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'cove-wat-test-'));
  try {
    const out = path.join(scratch, 'base64.wasm');
    execFileSync('wat2wasm', [path.join(frames, 'base64.wat'), '-o', out]);
    expect(Buffer.from(BASE64_WASM, 'base64').equals(readFileSync(out))).toBe(true);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});
