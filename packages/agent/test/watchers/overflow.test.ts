import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createWatchersDomain } from '../../src/watchers/index.js';
import { describeInotifyError } from '../../src/watchers/inotify.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { createWatcher, WatcherEvents } from './helpers.js';

const OVERFLOW = 'Event queue overflow, some events may have been lost';

let t: TestAgent | undefined;
let ev: WatcherEvents | undefined;
afterEach(async () => {
  ev?.close();
  await t?.close();
  ev = undefined;
  t = undefined;
});

async function start(options: Parameters<typeof createWatchersDomain>[0]) {
  t = await startTestAgent({ domains: [createWatchersDomain(options)] });
  ev = await WatcherEvents.open(t);
  return { t, ev };
}

describe('overflow', () => {
  it('is sent when more paths are pending than the watcher holds, never a silent loss', async () => {
    const { t, ev } = await start({ maxPending: 10 });
    const w = await createWatcher(t, { path: t.workdir });
    execFileSync('sh', ['-c', 'for i in $(seq 1 50); do : > f$i; done'], { cwd: t.workdir });
    const overflow = await ev.waitFor((e) => e.type === 'overflow', 'overflow');
    expect(overflow).toEqual({ channel: 'watcher', type: 'overflow', watcher_id: w.id, message: OVERFLOW });
    // The ten paths that fit are delivered; once they are out, new changes fit again.
    await ev.waitFor((e) => e.type === 'change' && e.path === path.join(t.workdir, 'f10'), 'the tenth create');
    await ev.barrier(w.id, t.workdir);
    const creates = ev.changes(w.id, t.workdir).filter((c) => !c.includes('sentinel'));
    expect(creates).toEqual(Array.from({ length: 10 }, (_, i) => `create f${i + 1}`));
    expect(ev.events.filter((e) => e.type === 'overflow')).toHaveLength(1);
  });

  it('is sent when the kernel queue overflows (IN_Q_OVERFLOW), and watching goes on', async () => {
    const { t, ev } = await start({});
    const w = await createWatcher(t, { path: t.workdir });
    const queue = Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8'));
    // execFileSync blocks this process, which is also the agent's: nothing
    // reads the inotify queue while more events than it holds are made.
    execFileSync('sh', ['-c', `seq 1 ${queue + 2000} | xargs touch && mkdir late`], { cwd: t.workdir });
    const overflow = await ev.waitFor((e) => e.type === 'overflow', 'kernel overflow');
    expect(overflow).toEqual({ channel: 'watcher', type: 'overflow', watcher_id: w.id, message: OVERFLOW });
    // The events the kernel kept still arrive; the ones after the overflow are lost.
    const created = ev.events.filter((e) => e.type === 'change' && e.op === 'create').length;
    expect(created).toBeLessThanOrEqual(queue);
    // After the overflow the tree was re-read: the directory made during it is watched.
    const from = ev.events.length;
    execFileSync('touch', [path.join(t.workdir, 'late', 'x')]);
    await ev.waitForChange(w.id, path.join(t.workdir, 'late', 'x'), 'create', from);
  });

  it('tells with an overflow event when a new directory cannot be watched (watch limit)', async () => {
    const { t, ev } = await start({ maxWatchesPerWatcher: 2 });
    const w = await createWatcher(t, { path: t.workdir });
    execFileSync('sh', ['-c', 'mkdir -p one && mkdir -p two/three'], { cwd: t.workdir });
    const limit = await ev.waitFor((e) => e.type === 'overflow', 'watch-limit overflow');
    expect(limit.watcher_id).toBe(w.id);
    expect(limit.message).toMatch(
      /^watch limit reached: at most 2 directories per watcher .*fs\.inotify\.max_user_watches.*; changes below .*\/two are not reported$/,
    );
    expect((await t.json('GET', `/watchers/${w.id}`)).body).toMatchObject({ dirs: 2, active: true });
  });
});

describe('the kernel watch limit (ENOSPC)', () => {
  // Shrinking fs.inotify.max_user_watches for the host would disturb everyone
  // else on it; in a user namespace of its own the limit is per namespace
  // (Linux >= 5.11), so a child process gets a limit of 3 watches for itself.
  /** Why the limit cannot be shrunk here (undefined when it can). */
  const cannotShrink = (() => {
    try {
      const out = execFileSync(
        'unshare',
        ['-U', '-r', 'sh', '-c', 'echo 3 > /proc/sys/user/max_inotify_watches && cat /proc/sys/user/max_inotify_watches'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      return out.trim() === '3' ? undefined : `a user namespace's max_inotify_watches reads ${out.trim()} after writing 3 (Linux < 5.11?)`;
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
      return `cannot set max_inotify_watches in a new user namespace: ${stderr || (err as Error).message}`;
    }
  })();

  it('makes the addon throw ENOSPC, which the agent reports as 500 naming fs.inotify.max_user_watches', async (ctx) => {
    if (cannotShrink) ctx.skip(cannotShrink);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cove-enospc-'));
    try {
      for (const d of ['a', 'b', 'c', 'd']) mkdirSync(path.join(dir, d));
      const script = `
        const { Inotify } = require('@cove/inotify');
        const ino = new Inotify(() => {});
        const out = [];
        for (const d of ['a', 'b', 'c', 'd']) {
          try { ino.addWatch(${JSON.stringify(dir)} + '/' + d, 0x100); out.push('ok'); }
          catch (e) { out.push(e.code); }
        }
        ino.close();
        console.log(JSON.stringify(out));
      `;
      const out = execFileSync(
        'unshare',
        ['-U', '-r', 'sh', '-c', 'echo 3 > /proc/sys/user/max_inotify_watches && exec "$0" -e "$1"', process.execPath, script],
        { encoding: 'utf8', cwd: path.dirname(fileURLToPath(import.meta.url)) },
      );
      const codes = JSON.parse(out) as string[];
      expect(codes).toEqual(['ok', 'ok', 'ok', 'ENOSPC']);
      const err = Object.assign(new Error('inotify_add_watch: No space left on device'), { code: codes[3] });
      const mapped = describeInotifyError(err, dir) as AppError;
      expect(mapped).toBeInstanceOf(AppError);
      expect(mapped.status).toBe(500);
      expect(mapped.code).toBe('watcher_failed');
      expect(mapped.message).toMatch(/^failed to create file watcher: inotify watch limit reached \(fs\.inotify\.max_user_watches = \d+\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
