import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { outputFrame, sseFrame } from '../../src/exec/sse.js';

describe('SSE output frames', () => {
  it('are byte for byte the JSON frame of the base64 chunk, for stdout and stderr', () => {
    for (const size of [0, 1, 2, 3, 4, 5, 64 * 1024, 64 * 1024 + 1, 200_001]) {
      const data = randomBytes(size);
      for (const [fd, name] of [
        [1, 'stdout'],
        [2, 'stderr'],
      ] as const) {
        const frame = outputFrame(fd, data);
        expect(frame.toString('latin1')).toBe(sseFrame(name, { data: data.toString('base64') }));
        expect(Buffer.from(JSON.parse(frame.toString('latin1').split('\n')[1]?.slice(6) ?? '').data, 'base64').equals(data)).toBe(true);
      }
    }
  });
});
