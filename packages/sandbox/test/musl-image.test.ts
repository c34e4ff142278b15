// A workspace from an image with no glibc at all (musl's loader, a program built against musl, static
// busybox): the injected agent runs on its own runtime (agent-runtime.ts) and serves exec, terminals, files and
// search, and the processes it starts see the workspace's environment, not the agent's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../src/run-command.js';
import { useTempStore } from './helpers/image-store.js';
import { writeOciImage } from './helpers/oci-layout.js';
import { type AgentClient, agentClient, muslMissing, muslRoot } from './helpers/workspace-agent.js';
import { network, openTestDriver, skipOutsideCi, skipReason, spec, type TestDriver } from './helpers.js';

const SLOT = 62;
const skip = skipReason() ?? skipOutsideCi(muslMissing());
const IMAGE = 'cove-test/musl:1';

describe.skipIf(skip)(`a musl image without glibc${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTempStore();
  let d: TestDriver;
  let agent: AgentClient;
  const s = spec({ image: IMAGE });

  beforeAll(async () => {
    const root = t.scratch('root');
    await muslRoot(root, t.scratch('work'));
    const layout = t.scratch('layout');
    await writeOciImage(layout, 'musl', [{ dir: root }]);
    d = await openTestDriver(SLOT, { imagesDir: t.dir });
    await d.driver.images.import(layout, { name: IMAGE });
    await d.driver.create(s);
    const { ip } = await d.driver.start(s);
    const token = 'm'.repeat(64);
    await d.driver.startAgent(s.id, token);
    await d.driver.applyNetwork(s.id, network({ publicAccess: true }));
    agent = agentClient(ip, token);
  }, 300_000);

  afterAll(async () => {
    await d?.close();
  }, 120_000);

  it('the program built against musl is dynamic, and runs through exec', async () => {
    const elf = await run(['readelf', '-l', t.scratch('root/usr/bin/hello-musl')]);
    expect(elf.stdout).toContain('[Requesting program interpreter: /lib/ld-musl-x86_64.so.1]');
    const res = await agent.exec({ cmd: ['hello-musl'] });
    expect(res.body).toMatchObject({ status: 'exited', exit_code: 0, stdout: 'hello from musl, uid 0\n' });
    // Nothing of glibc in the image: the agent's libraries are its own, under /opt/cove/lib.
    const libs = await agent.exec({ cmd: 'ls /lib; ls /opt/cove/lib | grep -c libc.so.6' });
    expect(libs.body).toMatchObject({ exit_code: 0, stdout: 'ld-musl-x86_64.so.1\n1\n' });
  });

  it("runs the shell in /root, with the workspace's environment and none of the agent's", async () => {
    const res = await agent.exec({ cmd: 'pwd; id -u; env | sort' });
    expect(res.body).toMatchObject({ status: 'exited', exit_code: 0 });
    const [pwd, uid, ...env] = String(res.body.stdout).trim().split('\n');
    expect([pwd, uid]).toEqual(['/root', '0']);
    expect(env).toEqual(
      expect.arrayContaining([
        'HOME=/root',
        'LANG=C.UTF-8',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'TERM=xterm-256color',
      ]),
    );
    expect(env.filter((e) => /^(COVE_|LD_|NODE_)/.test(e))).toEqual([]);
  });

  it('serves a terminal on a PTY', async () => {
    const res = await agent.terminal({ cmd: ['/bin/sh', '-c', 'test -t 0 && echo on-a-tty; hello-musl'] });
    expect(res.status).toBe(201);
    expect(res.output).toContain('on-a-tty');
    expect(res.output).toContain('hello from musl, uid 0');
  });

  it('writes, reads and searches files (ripgrep from the runtime: the image has none)', async () => {
    const write = await agent.json('POST', '/files/write', {
      path: '/root/notes/todo.txt',
      content: 'find the needle here\n',
      create_dirs: true,
    });
    expect(write.status).toBe(201);
    const read = await agent.json('GET', `/files/read?path=${encodeURIComponent('/root/notes/todo.txt')}`);
    expect(read.body).toMatchObject({ content: 'find the needle here\n' });
    const search = await agent.json<{ results: Record<string, unknown[]>; total_matches: number }>(
      'GET',
      '/files/search?q=needle&path=/root',
    );
    expect(search.status).toBe(200);
    expect(Object.keys(search.body.results)).toEqual(['notes/todo.txt']);
    const status = await agent.json('GET', '/files/search/init');
    expect(status.body).toMatchObject({ installed: true, path: '/opt/cove/bin/rg' });
    // A flat listing, walked by the runtime's native walker (static: no loader in this image).
    const listing = await agent.json<{ files: Array<{ path: string }> }>(
      'GET',
      '/files?path=/root/notes&nested=true&flatten=true&light=true',
    );
    expect(listing.status).toBe(200);
    expect(JSON.stringify(listing.body)).toContain('todo.txt');
  });

  it("the runtime's node runs for the workspace's processes too: its own path, not its loader's", async () => {
    const res = await agent.exec({
      cmd: ['/opt/cove/bin/node', '-e', 'console.log(process.execPath, require("fs").readlinkSync("/proc/self/exe"))'],
    });
    expect(res.body).toMatchObject({ exit_code: 0, stdout: '/opt/cove/bin/node /opt/cove/bin/node\n' });
    // The agent (PID 1's child) runs on Cove's own environment: no library path, nothing of the image.
    const agentEnv = await agent.exec({
      cmd: 'tr "\\0" "\\n" < /proc/$(cat /proc/1/task/1/children | tr -d " ")/environ | cut -d= -f1 | sort',
    });
    expect(agentEnv.body).toMatchObject({
      exit_code: 0,
      stdout: 'COVE_EXEC_AS\nCOVE_LIST_WALKER\nCOVE_PTY_READER\nCOVE_SPAWN_HELPER\nHOME\nLANG\nPATH\n',
    });
  });
});
