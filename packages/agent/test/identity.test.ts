// Users as the workspace's /etc names them, and the environment and user processes start with.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentArgs } from '../src/agent-args.js';
import { ProcessDefaults } from '../src/identity/process-defaults.js';
import { resolveUser } from '../src/identity/users.js';

describe('users and process defaults', () => {
  let etc: string;
  beforeAll(async () => {
    etc = await mkdtemp(path.join(os.tmpdir(), 'cove-etc-'));
    await writeFile(
      path.join(etc, 'passwd'),
      'root:x:0:0:root:/root:/bin/ash\n# a comment\napp:x:1000:1001:App:/home/app:/bin/sh\nbroken\n',
    );
    await writeFile(path.join(etc, 'group'), 'root:x:0:\napp:x:1001:\nextra:x:2000:other,app\nstaff:x:50:\n');
  });
  afterAll(async () => {
    await rm(etc, { recursive: true, force: true });
  });

  it('resolves names, numbers and groups as runc does', () => {
    expect(resolveUser('app', etc)).toEqual({ uid: 1000, gid: 1001, groups: [1001, 2000], home: '/home/app', shell: '/bin/sh' });
    expect(resolveUser('1000:staff', etc)).toMatchObject({ uid: 1000, gid: 50, groups: [50, 2000] });
    expect(resolveUser('4242', etc)).toEqual({ uid: 4242, gid: 0, groups: [0], home: '/', shell: undefined });
    expect(resolveUser('4242:7', etc)).toMatchObject({ uid: 4242, gid: 7, groups: [7] });
    expect(resolveUser('0', etc)).toMatchObject({ uid: 0, home: '/root', shell: '/bin/ash' });
    expect(() => resolveUser('ghost', etc)).toThrow("no user 'ghost'");
    expect(() => resolveUser('app:ghosts', etc)).toThrow("no group 'ghosts'");
    expect(() => resolveUser('a:b:c', etc)).toThrow('invalid user');
    // No /etc/passwd at all (distroless): numbers still work.
    expect(resolveUser('65532:65532', path.join(etc, 'missing'))).toMatchObject({ uid: 65532, gid: 65532, home: '/' });
  });

  it("starts from the given environment, HOME from the user's entry unless set, the request's variables over it", () => {
    const d = new ProcessDefaults({ env: ['PATH=/bin', 'A=1', 'B=2'], user: '4242', etc });
    const own = d.resolve(undefined);
    expect(own.env).toEqual({ PATH: '/bin', A: '1', B: '2', HOME: '/' });
    expect(own.runAs).toMatchObject({ uid: 4242 });
    const other = d.resolve('app', { A: 'x', B: null });
    expect(other.env).toEqual({ PATH: '/bin', A: 'x', HOME: '/home/app' });
    expect(other.runAs).toMatchObject({ uid: 1000, gid: 1001 });
    expect(() => d.resolve('ghost')).toThrow(expect.objectContaining({ code: 'bad_request' }));
    expect(() => new ProcessDefaults({ user: 'ghost', etc }).resolve(undefined)).toThrow(
      expect.objectContaining({ code: 'failed_to_start' }),
    );
    // The image's HOME wins over the user's entry.
    expect(new ProcessDefaults({ env: ['HOME=/data'], etc }).resolve('app').env.HOME).toBe('/data');
  });

  it('takes --env-file and --user from flags or their environment variables', () => {
    const base = { COVE_AGENT_TOKEN: 'x'.repeat(64) };
    const flags = parseAgentArgs(['--env-file', 'env.json', '--user=app:staff'], base);
    expect(flags).toMatchObject({ config: { envFile: path.resolve('env.json'), user: 'app:staff' } });
    const env = parseAgentArgs([], { ...base, COVE_AGENT_ENV_FILE: '/run/cove/env', COVE_AGENT_USER: '1000' });
    expect(env).toMatchObject({ config: { envFile: '/run/cove/env', user: '1000' } });
    expect(() => parseAgentArgs(['--user', 'a b'], base)).toThrow('invalid --user');
  });
});
