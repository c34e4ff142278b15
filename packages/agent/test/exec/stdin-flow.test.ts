// Large stdin through a task that echoes it back: the agent never blocks on a full pipe,
// whichever spawner started the task, and keeps serving other requests meanwhile.
import { createHash } from 'node:crypto';
import { Runtime } from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecDomain } from '../../src/exec/index.js';
import { runtimeDomain } from '../../src/runtime/runtime-routes.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

for (const spawner of ['helper', 'node'] as const) {
  describe(`stdin flow (${spawner} spawner)`, () => {
    let t: TestAgent;
    let rt: Runtime;
    beforeAll(async () => {
      t = await startTestAgent({ domains: [runtimeDomain, createExecDomain(spawner === 'node' ? { spawner: 'node' } : {})] });
      rt = new Runtime({ baseURL: t.url, token: t.token });
    });
    afterAll(async () => {
      await t.close();
    });

    it('passes 4 MiB of stdin in 64 KiB chunks through cat, byte for byte', { timeout: 60_000 }, async () => {
      const input = Buffer.alloc(4 * 1024 * 1024);
      for (let i = 0; i < input.length; i++) input[i] = (i * 7 + (i >> 13)) & 0xff;
      const stream = rt.exec.stream(['cat']);
      const first = await stream.next();
      const taskId = (first.value as { task_id: string }).task_id;
      const out: Buffer[] = [];
      const reading = (async () => {
        for await (const ev of stream) if (ev.event === 'stdout') out.push(Buffer.from(ev.data, 'base64'));
      })();
      for (let at = 0; at < input.length; at += 64 * 1024) {
        await rt.exec.input(taskId, input.subarray(at, at + 64 * 1024));
        // Other requests are answered while stdin is busy.
        if (at === 1024 * 1024) expect((await rt.exec.run(['echo', 'still-serving'])).stdout).toBe('still-serving\n');
      }
      await rt.exec.closeStdin(taskId);
      await reading;
      const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      expect(digest(Buffer.concat(out))).toBe(digest(input));
    });
  });
}
