// The runtime check `cove up --runtime X` runs before anything starts (runtimes.ts): how the setting splits into
// a binary and global flags, and what a runtime known by name must find on this host. runsc is not installed here,
// so its platform rules run on runc's binary under the name runsc (the check reads the name, not the program).
import { existsSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRuntime, locateBinary, parseRuntime } from '../src/runtimes.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cove-runtimes-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the runtime setting', () => {
  it('splits a binary from its global flags, and keeps an existing path with spaces whole', async () => {
    expect(parseRuntime('runsc --platform=systrap --oci-seccomp')).toEqual({
      binary: 'runsc',
      args: ['--platform=systrap', '--oci-seccomp'],
    });
    expect(parseRuntime(' runc ')).toEqual({ binary: 'runc', args: [] });
    const spaced = path.join(dir, 'my runc');
    await symlink('/bin/true', spaced);
    expect(parseRuntime(spaced)).toEqual({ binary: spaced, args: [] });
  });
});

const runc = locateBinary('runc');
describe.skipIf(!runc)('runtimes known by name (runc is installed by scripts/system-deps.sh)', () => {
  it('runc, the tested runtime, is usable here', () => {
    expect(checkRuntime('runc')).toMatchObject({ ok: true, reasons: [], profile: { name: 'runc', liveUpdate: true, hostInitPid: true } });
  });

  it('runsc: a platform it does not know is refused, naming it', async () => {
    const runsc = path.join(dir, 'runsc');
    await symlink(runc as string, runsc).catch(() => {});
    expect(checkRuntime(`${runsc} --platform=bogus`)).toMatchObject({
      ok: false,
      reasons: ['runsc --platform=bogus is not one Cove knows (kvm, systrap, ptrace)'],
    });
  });

  const kvm = existsSync('/dev/kvm');
  it(`runsc --platform=kvm needs /dev/kvm (this host ${kvm ? 'has' : 'lacks'} it)`, async () => {
    const runsc = path.join(dir, 'runsc');
    await symlink(runc as string, runsc).catch(() => {});
    const check = checkRuntime(`${runsc} --platform kvm`);
    if (kvm) expect(check).toMatchObject({ ok: true, profile: { name: 'runsc', hostInitPid: false, ociSeccomp: false } });
    else expect(check.reasons).toEqual([expect.stringContaining('runsc --platform=kvm needs /dev/kvm')]);
  });
});
