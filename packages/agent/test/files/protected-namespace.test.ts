// The real HTTP refusals of protected paths. If the check were wrong, a
// DELETE /usr would succeed, so these requests go only to an agent that runs
// in its own mount namespace where every mount is read-only: a bug shows up
// as a failed assertion, never as a damaged machine.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coveBin, type SpawnedAgent, spawnAgent } from './spawned-agent.js';

// Remount every visible mount read-only (private propagation keeps this inside
// the namespace), refuse to go on unless each one is, then give the agent a
// small tmpfs as its only writable place.
const SCRIPT = `
set -e
for mp in $(awk '{print $5}' /proc/self/mountinfo | sort -u -r); do mount -o remount,bind,ro "$mp"; done
awk '{opt[$5]=$6} END {for (m in opt) if (opt[m] !~ /(^|,)ro(,|$)/) {bad=1; print "still writable: " m > "/dev/stderr"}; exit bad}' /proc/self/mountinfo
mount -t tmpfs -o size=8m tmpfs "$SCRATCH"
mkdir "$SCRATCH/work"
ln -s / "$SCRATCH/work/rootlink"
echo keep > "$SCRATCH/work/deletable"
ln -s /usr "$SCRATCH/work/usrlink"
mkdir "$SCRATCH/work/tree"
ln -s /etc "$SCRATCH/work/tree/etclink"
exec "$NODE" "$COVE" agent --listen 127.0.0.1:0 --workdir "$SCRATCH/work"
`;

/** Why this file cannot run here (undefined when it can): it needs a private mount namespace (root, or CAP_SYS_ADMIN). */
const unshareRefused = (() => {
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  return `unshare --mount failed: ${probe.error?.message ?? (probe.stderr.trim() || `exit ${probe.status}`)}`;
})();
const canUnshare = unshareRefused === undefined;

let agent: SpawnedAgent;
let scratch: string;

beforeAll(async () => {
  if (!canUnshare) return;
  scratch = await mkdtemp(path.join(os.tmpdir(), 'cove-ns-'));
  agent = await spawnAgent(['unshare', '--mount', '--propagation', 'private', 'sh', '-c', SCRIPT], {
    SCRATCH: scratch,
    NODE: process.execPath,
    COVE: coveBin,
  });
});
afterAll(async () => {
  await agent?.kill();
  if (scratch) await rmdir(scratch);
});

const q = encodeURIComponent;

const title = `protected paths over HTTP (agent in a read-only mount namespace)${unshareRefused ? ` (skipped: ${unshareRefused})` : ''}`;
describe.skipIf(!canUnshare)(title, () => {
  it('runs where nothing outside its scratch tmpfs is writable (and really deletes inside it)', async () => {
    const res = await agent.request('DELETE', '/files/delete?path=deletable');
    expect(res.status).toBe(200);
    // An unprotected system path fails only because the file system is read-only: the safety net works.
    const doc = await agent.request('DELETE', `/files/delete?path=${q('/usr/share/doc')}`);
    expect(doc.status).toBe(403);
    expect(await doc.json()).toMatchObject({ code: 'forbidden', error: 'read-only file system: /usr/share/doc' });
  });

  it('refuses every protected path, in every spelling, with 403 protected_path (DELETE and POST)', async () => {
    const spellings = [
      '/',
      '/bin',
      '/sbin',
      '/usr',
      '/lib',
      '/lib64',
      '/etc',
      '/dev',
      '/proc',
      '/sys',
      '/boot',
      '/run',
      '//',
      '/usr/',
      '//usr',
      '/usr/.',
      '/usr/./',
      '/tmp/../usr',
      '/etc//',
      '/./etc',
      '/usr/lib/../..',
      '/run///',
      `${scratch}/work/rootlink/etc`,
      'rootlink/boot',
      'rootlink/usr/',
      '../'.repeat(30),
    ];
    for (const spelled of spellings) {
      const del = await agent.request('DELETE', `/files/delete?path=${q(spelled)}`);
      expect(del.status, spelled).toBe(403);
      expect(await del.json(), spelled).toMatchObject({ success: false, code: 'protected_path' });
      const post = await agent.request('POST', '/files/delete', { path: spelled });
      expect(post.status, spelled).toBe(403);
      expect(await post.json(), spelled).toMatchObject({ success: false, code: 'protected_path' });
    }
  });

  it('deletes a link to / as the link itself', async () => {
    const res = await agent.request('DELETE', '/files/delete?path=rootlink/');
    expect(res.status).toBe(200);
    expect(existsSync('/usr/bin')).toBe(true);
  });

  it('removes a link to /usr as a link, and a tree holding a link to /etc without descending into it', async () => {
    for (const spelled of ['usrlink', 'tree']) {
      const res = await agent.request('DELETE', `/files/delete?path=${q(spelled)}`);
      // On a bug that followed the link, the read-only mounts turn the damage into a 403 EROFS.
      expect(res.status, spelled).toBe(200);
    }
    const gone = await agent.request('GET', `/files/stat?path=${q('usrlink')}`);
    expect(gone.status).toBe(404);
    const usr = await agent.request('GET', `/files/stat?path=${q('/usr/bin')}`);
    expect(usr.status).toBe(200);
  });

  it('refuses moving a protected path away or over one', async () => {
    for (const body of [
      { source: '/usr', destination: 'stolen' },
      { source: '/etc/', destination: 'stolen' },
      { source: '//bin', destination: 'stolen', overwrite: true },
      { source: '/usr/share', destination: '/bin', overwrite: true },
      { source: '/usr/share', destination: '/', overwrite: true },
    ]) {
      const res = await agent.request('POST', '/files/move', body);
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(await res.json(), JSON.stringify(body)).toMatchObject({ code: 'protected_path' });
    }
  });
});
