import type { Runtime } from 'oblien/runtime';
import { beforeAll, expect, it } from 'vitest';
import { createWorkspace, describeOfficialStack, gatewayRuntime } from './helpers/official-stack.js';

const SLOT = 93;

// biome-ignore lint/suspicious/noExplicitAny: the official SDK types answers loosely; tests read them field by field
type Body = Record<string, any>;

describeOfficialStack(
  SLOT,
  (variant) => `official SDK logs (${variant.title})`,
  (cp, variant) => {
    let id: string;
    let rt: Runtime;
    beforeAll(async () => {
      id = await createWorkspace(cp.client, variant, { name: 'logs' });
      rt = await gatewayRuntime(cp, id);
    }, 120_000);

    it('the command log records each exec: command, exit code, the end of its output', async () => {
      await rt.exec.run(['sh', '-c', 'echo one; echo two >&2; exit 7']);
      const got = (await cp.client.workspaces.logs.get(id, { source: 'cmd', tail_lines: 5 })) as Body;
      expect(got).toMatchObject({ success: true, source: 'cmd' });
      expect(got.logs.at(-1)).toMatchObject({
        command: ['sh', '-c', 'echo one; echo two >&2; exit 7'],
        exit_code: 7,
        stdout: 'one\n',
        stderr: 'two\n',
        message: expect.stringContaining('exit 7'),
        timestamp: expect.any(String),
      });
      // The stream replays the end, then goes on with each command as it finishes.
      const stream = cp.client.workspaces.logs.streamCmd(id, { tail_lines: 1 });
      const seen: Body[] = [];
      for await (const event of stream) {
        seen.push(event as Body);
        if (seen.length === 1) await rt.exec.run(['echo', 'later']);
        if (seen.length === 2) break;
      }
      expect(seen.map((e) => e.command)).toEqual([
        ['sh', '-c', 'echo one; echo two >&2; exit 7'],
        ['echo', 'later'],
      ]);
    }, 60_000);

    it('the boot log, the files, clearing', async () => {
      const boot = (await cp.client.workspaces.logs.get(id)) as Body;
      expect(boot.source).toBe('boot');
      // The agent's own log lines are in it (and, in a sandbox, where its stdout goes there too, its ready line).
      expect(boot.logs.length).toBeGreaterThan(0);
      if (variant.kind === 'sandbox') expect(boot.logs.some((l: Body) => l.message.includes('"type":"ready"'))).toBe(true);
      const streamed: Body[] = [];
      for await (const event of cp.client.workspaces.logs.streamBoot(id, { tail_lines: 3 })) streamed.push(event as Body);
      expect(streamed.map((e) => e.message)).toEqual(boot.logs.slice(-3).map((l: Body) => l.message));
      const files = (await cp.client.workspaces.logs.listFiles(id)) as Body[];
      expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['boot.log', 'cmd.log']));
      const file = (await cp.client.workspaces.logs.getFile(id, 'cmd.log')) as Body;
      expect(file.content).toContain('"exit_code":7');
      await expect(cp.client.workspaces.logs.getFile(id, '../../etc/passwd')).rejects.toMatchObject({ status: expect.any(Number) });
      await expect(cp.client.workspaces.logs.getFile(id, 'shadow')).rejects.toMatchObject({ status: 404 });
      expect(await cp.client.workspaces.logs.clear(id)).toMatchObject({ success: true, cleared: ['boot', 'cmd'] });
      expect(((await cp.client.workspaces.logs.get(id, { source: 'cmd' })) as Body).logs).toEqual([]);
    }, 60_000);
  },
);
