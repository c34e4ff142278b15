// The official `oblien` SDK's `workspaces.logs` against Cove, on each driver: the boot log, the command log
// (commands run through exec), files, streams.
import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants, startTestStack, type TestStack } from '../../packages/api/test/helpers/driver-stack.js';

const SLOT = 93;

// biome-ignore lint/suspicious/noExplicitAny: the official SDK types answers loosely; tests read them field by field
type Body = Record<string, any>;

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`official SDK logs (${variant.title})`, () => {
    let t: TestStack;
    let client: Oblien;
    let id: string;
    let rt: Runtime;
    beforeAll(async () => {
      t = await startTestStack(variant.kind, SLOT);
      client = new Oblien({ clientId: t.client.clientId, clientSecret: t.client.clientSecret, baseUrl: t.url });
      id = ((await client.workspaces.create({ name: 'logs', ...variant.workspace } as never)) as unknown as { id: string }).id;
      const { token } = await client.workspaces.apiAccess.enable(id);
      await client.workspaces.network.update(id, { public_access: true });
      rt = new Runtime({ token: token as string, baseUrl: t.gatewayURL });
    }, 120_000);
    afterAll(async () => {
      await t?.close();
    }, 120_000);

    it('the command log records each exec: command, exit code, the end of its output', async () => {
      await rt.exec.run(['sh', '-c', 'echo one; echo two >&2; exit 7']);
      const got = (await client.workspaces.logs.get(id, { source: 'cmd', tail_lines: 5 })) as Body;
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
      const stream = client.workspaces.logs.streamCmd(id, { tail_lines: 1 });
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
      const boot = (await client.workspaces.logs.get(id)) as Body;
      expect(boot.source).toBe('boot');
      // The agent's own log lines are in it (and, in a sandbox, where its stdout goes there too, its ready line).
      expect(boot.logs.length).toBeGreaterThan(0);
      if (variant.kind === 'sandbox') expect(boot.logs.some((l: Body) => l.message.includes('"type":"ready"'))).toBe(true);
      const streamed: Body[] = [];
      for await (const event of client.workspaces.logs.streamBoot(id, { tail_lines: 3 })) streamed.push(event as Body);
      expect(streamed.map((e) => e.message)).toEqual(boot.logs.slice(-3).map((l: Body) => l.message));
      const files = (await client.workspaces.logs.listFiles(id)) as Body[];
      expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(['boot.log', 'cmd.log']));
      const file = (await client.workspaces.logs.getFile(id, 'cmd.log')) as Body;
      expect(file.content).toContain('"exit_code":7');
      await expect(client.workspaces.logs.getFile(id, '../../etc/passwd')).rejects.toMatchObject({ status: expect.any(Number) });
      await expect(client.workspaces.logs.getFile(id, 'shadow')).rejects.toMatchObject({ status: 404 });
      expect(await client.workspaces.logs.clear(id)).toMatchObject({ success: true, cleared: ['boot', 'cmd'] });
      expect(((await client.workspaces.logs.get(id, { source: 'cmd' })) as Body).logs).toEqual([]);
    }, 60_000);
  });
}
