// The spawn helper hands a task's sockets over before it spawns the program, then its pid or why it failed:
// a failed spawn must leave no descriptor open in the agent, and a program that exits at once must still be
// reported with its output and status.
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { until } from './helpers/sse.js';

const openDescriptors = () => readdirSync('/proc/self/fd').length;

describe('spawning through the spawn helper', () => {
  let t: TestAgent;
  beforeAll(async () => {
    t = await startTestAgent();
  });
  afterAll(async () => {
    await t.close();
  });

  it('a spawn that fails after its sockets were handed over leaves no descriptor open', async () => {
    await t.json('POST', '/exec', { body: { cmd: ['sh', '-c', 'printf x > plain.txt'] } });
    // Warm: the connection pool and whatever the first failure loads.
    await t.json('POST', '/exec', { body: { cmd: ['./plain.txt'] } });
    const before = openDescriptors();
    for (let i = 0; i < 20; i++) {
      const { status, body } = await t.json('POST', '/exec', { body: { cmd: ['./plain.txt'] } });
      expect(status).toBe(500);
      expect(String(body.error)).toContain('EACCES');
    }
    // A socket of a failed spawn may reach the agent just after the failure; it is closed as it arrives.
    await until(() => openDescriptors() <= before, 'the failed spawns’ sockets to be closed');
  });

  it('programs that exit at once are reported with their output and status, one after another', async () => {
    for (let i = 0; i < 30; i++) {
      const { status, body } = await t.json('POST', '/exec', { body: { cmd: ['sh', '-c', `echo ${i}; echo e >&2; exit ${i % 4}`] } });
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'exited', exit_code: i % 4, stdout: `${i}\n`, stderr: 'e\n' });
    }
  });

  it('many spawns at once each get their own sockets and exit status', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => t.json('POST', '/exec', { body: { cmd: ['sh', '-c', `echo task-${i}; exit ${i % 3}`] } })),
    );
    results.forEach(({ body }, i) => {
      expect(body).toMatchObject({ stdout: `task-${i}\n`, exit_code: i % 3 });
    });
  });
});
