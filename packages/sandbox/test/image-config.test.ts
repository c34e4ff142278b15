// The image's config applies to the workspace's processes: Env over Cove's defaults, WorkingDir as the
// default directory (made by runc when the image lacks it), User for exec and terminals — and what a request
// says (user, cwd, env) wins over each. Entrypoint and Cmd are recorded beside the bundle; nothing runs them.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTempStore } from './helpers/image-store.js';
import { writeOciImage } from './helpers/oci-layout.js';
import { type AgentClient, agentClient, muslMissing, muslRoot } from './helpers/workspace-agent.js';
import { execIn, network, openTestDriver, skipOutsideCi, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 63;
const skip = skipReason() ?? skipOutsideCi(muslMissing());
const IMAGE = 'cove-test/configured:1';
const CONFIG = {
  Env: ['PATH=/usr/local/bin:/bin', 'GREETING=hello', 'LANG=de_DE.UTF-8'],
  WorkingDir: '/srv/app',
  User: 'app',
  Entrypoint: ['/bin/sh', '-c'],
  Cmd: ['echo serving'],
};
/** What each process prints about itself, one line each. */
const WHO = 'id -u; id -g; id -G; pwd; echo "$GREETING|$LANG|$HOME|$TERM"; echo "$PATH"';

describe.skipIf(skip)(`the image config${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();
  let d: TestDriver;
  let agent: AgentClient;
  const s = spec({ image: IMAGE });

  beforeAll(async () => {
    const root = t.scratch('root');
    await muslRoot(root, t.scratch('work'));
    const layout = t.scratch('layout');
    await writeOciImage(layout, 'configured', [{ dir: root }], CONFIG);
    d = await openTestDriver(SLOT, { imagesDir: t.dir });
    await d.driver.images.import(layout, { name: IMAGE });
    await d.driver.create(s);
    const { ip } = await d.driver.start(s);
    const token = 'c'.repeat(64);
    await d.driver.startAgent(s.id, token);
    await d.driver.applyNetwork(s.id, network({ publicAccess: true }));
    agent = agentClient(ip, token);
  }, 300_000);

  afterAll(async () => {
    await d?.close();
  }, 120_000);

  it("runs exec as the image's user (its groups too), in its WorkingDir, with its Env over Cove's defaults", async () => {
    const res = await agent.exec({ cmd: WHO });
    expect(res.body).toMatchObject({ status: 'exited', exit_code: 0, cwd: '/srv/app' });
    expect(res.body.stdout).toBe('1000\n1000\n1000 2000\n/srv/app\nhello|de_DE.UTF-8|/home/app|xterm-256color\n/usr/local/bin:/bin\n');
    // The agent itself stays root.
    expect((await agent.exec({ cmd: 'stat -c %u /proc/1' })).body.stdout).toBe('0\n');
  });

  it("lets a request's user, cwd and env win", async () => {
    const res = await agent.exec({ cmd: WHO, user: 'root', cwd: '/tmp', env: { GREETING: 'bye', LANG: null, HOME: '/elsewhere' } });
    expect(res.body).toMatchObject({ exit_code: 0, stdout: '0\n0\n0\n/tmp\nbye||/elsewhere|xterm-256color\n/usr/local/bin:/bin\n' });
    // A numeric user needs no /etc/passwd entry; without one its home is /.
    const numeric = await agent.exec({ cmd: WHO, user: '4242:4343' });
    expect(numeric.body).toMatchObject({
      exit_code: 0,
      stdout: '4242\n4343\n4343\n/srv/app\nhello|de_DE.UTF-8|/|xterm-256color\n/usr/local/bin:/bin\n',
    });
    const group = await agent.exec({ cmd: 'id -u; id -g', user: 'app:extra' });
    expect(group.body).toMatchObject({ exit_code: 0, stdout: '1000\n2000\n' });
  });

  it('refuses a user the workspace does not know, and a program the user may not run', async () => {
    const unknown = await agent.exec({ cmd: ['id'], user: 'nobody-here' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ success: false, code: 'bad_request' });
    expect(String(unknown.body.error)).toContain("no user 'nobody-here'");
    const missing = await agent.exec({ cmd: ['no-such-program'] });
    expect(missing.body).toMatchObject({ code: 'failed_to_start' });
    expect(String(missing.body.error)).toContain('ENOENT');
  });

  it("opens terminals as the image's user in its WorkingDir, the terminal theirs; a request's fields win", async () => {
    const res = await agent.terminal({ cmd: ['/bin/sh', '-c', `${WHO}; stat -c %u "$(readlink /proc/self/fd/0)"`] });
    expect(res.status).toBe(201);
    expect(res.output.replace(/\r/g, '')).toContain(
      '1000\n1000\n1000 2000\n/srv/app\nhello|de_DE.UTF-8|/home/app|xterm-256color\n/usr/local/bin:/bin\n1000\n',
    );
    const over = await agent.terminal({ cmd: ['/bin/sh', '-c', WHO], user: '0', cwd: '/', env: { GREETING: 'term' } });
    expect(over.output.replace(/\r/g, '')).toContain('0\n0\n0\n/\nterm|de_DE.UTF-8|/root|xterm-256color\n');
    // Without a command: the user's login shell from /etc/passwd.
    const shell = await agent.json('POST', '/terminals', {});
    expect(shell.body).toMatchObject({ command: ['/bin/sh'] });
    await agent.json('DELETE', `/terminals/${String(shell.body.id)}`);
  });

  it('made the WorkingDir the image lacks inside the root, and records Entrypoint and Cmd beside the bundle', async () => {
    const made = await execIn(d.driver, s.id, 'stat -c %u:%a /srv/app');
    expect(made).toMatchObject({ code: 0, stdout: '0:755\n' });
    const slot = d.driver.slotOf(s.id) ?? s.id;
    const recorded = JSON.parse(await readFile(path.join(d.dataDir, 'workspaces', slot, 'image-config.json'), 'utf8'));
    expect(recorded).toEqual({
      env: CONFIG.Env,
      workingDir: '/srv/app',
      user: 'app',
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['echo serving'],
    });
  });

  it('keeps it all across a stop and start', async () => {
    await d.driver.stop(s.id);
    await d.driver.start(s);
    const token = 'e'.repeat(64);
    await d.driver.startAgent(s.id, token);
    const again = agentClient(d.driver.addressOf(s.id) ?? '', token);
    expect((await again.exec({ cmd: 'id -u; pwd; echo $GREETING' })).body).toMatchObject({ stdout: '1000\n/srv/app\nhello\n' });
  });
});
