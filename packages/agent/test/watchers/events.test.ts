import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { createWatcher, WatcherEvents } from './helpers.js';

let t: TestAgent;
let ev: WatcherEvents;
/** A directory outside every watched tree, on the same file system (moves in and out). */
let outside: string;
let n = 0;
let root: string;
let id: string;

beforeAll(async () => {
  t = await startTestAgent();
  ev = await WatcherEvents.open(t);
  outside = mkdtempSync(path.join(os.tmpdir(), 'cove-outside-'));
});
afterAll(async () => {
  ev.close();
  await t.close();
  rmSync(outside, { recursive: true, force: true });
});
beforeEach(async () => {
  root = path.join(t.workdir, `tree-${++n}`);
  mkdirSync(path.join(root, 'sub'), { recursive: true });
  writeFileSync(path.join(root, 'existing.txt'), 'old');
  id = (await createWatcher(t, { path: root })).id;
  await ev.waitFor((e) => e.type === 'ready' && e.watcher_id === id, 'ready');
});
afterEach(async () => {
  const { body } = await t.json<{ watchers: Array<{ id: string }> }>('GET', '/watchers');
  for (const w of body.watchers) await t.request('DELETE', `/watchers/${w.id}`);
});

const sh = (script: string) => execFileSync('sh', ['-c', script], { cwd: root });
const at = (rel: string) => path.join(root, rel);

describe('ready', () => {
  it('is sent after the scan with the directory count, and again to each client that connects later', async () => {
    const ready = ev.events.find((e) => e.type === 'ready' && e.watcher_id === id);
    expect(ready).toEqual({ channel: 'watcher', type: 'ready', watcher_id: id, root, dirs: 2 });
    const late = await WatcherEvents.open(t);
    try {
      const replayed = await late.waitFor((e) => e.type === 'ready' && e.watcher_id === id, 'replayed ready');
      expect(replayed).toEqual({ channel: 'watcher', type: 'ready', watcher_id: id, root, dirs: 2 });
      expect(late.events.filter((e) => e.type === 'ready')).toHaveLength(1);
    } finally {
      late.close();
    }
  });
});

describe('change', () => {
  it('reports create, write and remove with absolute paths', async () => {
    const from = ev.events.length;
    writeFileSync(at('new.txt'), '');
    const created = await ev.waitForChange(id, at('new.txt'), 'create', from);
    expect(created).toEqual({ channel: 'watcher', type: 'change', watcher_id: id, path: at('new.txt'), op: 'create' });
    appendFileSync(at('existing.txt'), 'more');
    await ev.waitForChange(id, at('existing.txt'), 'write', from);
    unlinkSync(at('existing.txt'));
    await ev.waitForChange(id, at('existing.txt'), 'remove', from);
    await ev.barrier(id, root);
    expect(ev.changes(id, root, from).filter((c) => !c.includes('sentinel'))).toEqual([
      'create new.txt',
      'write existing.txt',
      'remove existing.txt',
    ]);
  });

  it('collapses several writes to one path within 50 ms into one event with the last op', async () => {
    const from = ev.events.length;
    for (let i = 0; i < 20; i++) appendFileSync(at('existing.txt'), `${i}\n`);
    writeFileSync(at('brief.txt'), 'x'); // create then write: the last op wins
    writeFileSync(at('gone.txt'), 'x');
    unlinkSync(at('gone.txt')); // create, write, remove: one remove
    await ev.barrier(id, root);
    const changes = ev.changes(id, root, from);
    expect(changes.slice(0, 3)).toEqual(['write existing.txt', 'write brief.txt', 'remove gone.txt']);
    expect(changes).toHaveLength(4);
  });

  it('reports a tree made at once (mkdir -p a/b/c && touch a/b/c/f), then watches it', async () => {
    const from = ev.events.length;
    sh('mkdir -p a/b/c && touch a/b/c/f && mkdir -p a/x/y && touch a/x/y/g');
    await ev.waitForChange(id, at('a/x/y/g'), 'create', from);
    await ev.barrier(id, root);
    // Each exactly once, whether the kernel or the scan of a new directory saw it first.
    const changes = ev.changes(id, root, from).filter((c) => !c.includes('sentinel'));
    expect(changes.sort()).toEqual([
      'create a',
      'create a/b',
      'create a/b/c',
      'create a/b/c/f',
      'create a/x',
      'create a/x/y',
      'create a/x/y/g',
    ]);
    // The new directories are watched: a change deep inside arrives.
    const later = ev.events.length;
    appendFileSync(at('a/b/c/f'), 'x');
    await ev.waitForChange(id, at('a/b/c/f'), 'write', later);
    const { body } = await t.json<{ dirs: number }>('GET', `/watchers/${id}`);
    expect(body.dirs).toBe(7);
  });

  it('reports a move inside the tree as rename of the old path and create of the new', async () => {
    const from = ev.events.length;
    renameSync(at('existing.txt'), at('sub/moved.txt'));
    renameSync(at('sub'), at('sub2'));
    await ev.barrier(id, root);
    expect(ev.changes(id, root, from).slice(0, 4)).toEqual(['rename existing.txt', 'create sub/moved.txt', 'rename sub', 'create sub2']);
    // The moved directory is still watched, under its new path.
    const later = ev.events.length;
    appendFileSync(at('sub2/moved.txt'), 'x');
    await ev.waitForChange(id, at('sub2/moved.txt'), 'write', later);
    expect((await t.json<{ dirs: number }>('GET', `/watchers/${id}`)).body.dirs).toBe(2);
  });

  it('reports a move out of the tree as rename, and stops watching a directory moved out', async () => {
    writeFileSync(at('sub/inner.txt'), 'x');
    await ev.barrier(id, root);
    const from = ev.events.length;
    renameSync(at('existing.txt'), path.join(outside, `out-${n}.txt`));
    renameSync(at('sub'), path.join(outside, `sub-${n}`));
    await ev.barrier(id, root);
    const changes = ev.changes(id, root, from);
    expect(changes.slice(0, 2)).toEqual(['rename existing.txt', 'rename sub']);
    // Changes in the moved-out directory are not reported under any path.
    const later = ev.events.length;
    appendFileSync(path.join(outside, `sub-${n}`, 'inner.txt'), 'x');
    await ev.barrier(id, root);
    expect(ev.changes(id, root, later)).toHaveLength(1);
    expect((await t.json<{ dirs: number }>('GET', `/watchers/${id}`)).body.dirs).toBe(1);
  });

  it('reports what moves in as create, with a moved-in directory’s contents, and watches it', async () => {
    const dir = path.join(outside, `in-${n}`);
    mkdirSync(path.join(dir, 'deep'), { recursive: true });
    writeFileSync(path.join(dir, 'deep', 'file.txt'), 'x');
    writeFileSync(path.join(outside, `file-${n}.txt`), 'x');
    const from = ev.events.length;
    renameSync(path.join(outside, `file-${n}.txt`), at('file.txt'));
    renameSync(dir, at('incoming'));
    await ev.waitForChange(id, at('incoming/deep/file.txt'), 'create', from);
    await ev.barrier(id, root);
    expect(ev.changes(id, root, from).slice(0, 4)).toEqual([
      'create file.txt',
      'create incoming',
      'create incoming/deep',
      'create incoming/deep/file.txt',
    ]);
    const later = ev.events.length;
    appendFileSync(at('incoming/deep/file.txt'), 'y');
    await ev.waitForChange(id, at('incoming/deep/file.txt'), 'write', later);
  });

  it('follows a watched directory deleted and created again', async () => {
    writeFileSync(at('sub/a.txt'), 'x');
    await ev.barrier(id, root);
    const from = ev.events.length;
    sh('rm -rf sub');
    await ev.waitForChange(id, at('sub'), 'remove', from);
    await ev.barrier(id, root);
    expect(ev.changes(id, root, from).slice(0, 2)).toEqual(['remove sub/a.txt', 'remove sub']);
    expect((await t.json<{ dirs: number }>('GET', `/watchers/${id}`)).body.dirs).toBe(1);
    const later = ev.events.length;
    sh('mkdir sub && touch sub/b.txt');
    await ev.waitForChange(id, at('sub/b.txt'), 'create', later);
    const again = ev.events.length;
    appendFileSync(at('sub/b.txt'), 'x');
    await ev.waitForChange(id, at('sub/b.txt'), 'write', again);
    expect((await t.json<{ dirs: number }>('GET', `/watchers/${id}`)).body.dirs).toBe(2);
  });

  it('reports the root deleted as remove; the watcher stays listed as inactive and gives its slot up at the limit', async () => {
    const from = ev.events.length;
    sh(`rm -rf ${JSON.stringify(root)}`);
    await ev.waitForChange(id, root, 'remove', from);
    expect(ev.changes(id, root, from).sort()).toEqual(['remove .', 'remove existing.txt', 'remove sub']);
    const { body } = await t.json('GET', `/watchers/${id}`);
    expect(body).toMatchObject({ id, active: false, dirs: 0, watcher: { active: false } });
    // Five new watchers fit: the inactive one is evicted for the fifth.
    const other = path.join(t.workdir, `other-${n}`);
    mkdirSync(other);
    for (let i = 0; i < 5; i++) await createWatcher(t, { path: other });
    expect((await t.json('GET', `/watchers/${id}`)).status).toBe(404);
    const late = await WatcherEvents.open(t);
    try {
      await late.waitFor((e) => e.type === 'ready' && e.root === other, 'ready of the others');
      expect(late.events.filter((e) => e.watcher_id === id)).toEqual([]);
    } finally {
      late.close();
    }
  });

  it('reports the root moved away as rename and goes inactive', async () => {
    const from = ev.events.length;
    renameSync(root, path.join(outside, `root-${n}`));
    await ev.waitForChange(id, root, 'rename', from);
    expect((await t.json('GET', `/watchers/${id}`)).body).toMatchObject({ active: false });
  });

  it('sends nothing for excluded names, at any depth, nor for what is below an excluded directory', async () => {
    const custom = path.join(t.workdir, `custom-${n}`);
    mkdirSync(path.join(custom, 'src'), { recursive: true });
    const w = await createWatcher(t, { path: custom, excludes: ['*.log', 'src/gen'] });
    const from = ev.events.length;
    sh(
      `cd ${JSON.stringify(custom)} && mkdir -p node_modules/pkg .git src/gen/deep && touch node_modules/pkg/index.js .git/HEAD a.log src/b.log src/gen/x.ts src/gen/deep/y.ts file.swp notes.txt~ && echo x >> a.log`,
    );
    writeFileSync(path.join(custom, 'src', 'kept.ts'), '');
    await ev.barrier(w.id, custom);
    const changes = ev.changes(w.id, custom, from).filter((c) => !c.includes('sentinel'));
    expect(changes).toEqual(['create src/kept.ts']);
  });

  it('keeps two watchers apart by watcher_id, and a deleted watcher sends nothing more', async () => {
    const second = await createWatcher(t, { path: at('sub') });
    const from = ev.events.length;
    writeFileSync(at('sub/both.txt'), '');
    await ev.waitForChange(id, at('sub/both.txt'), 'create', from);
    await ev.waitForChange(second.id, at('sub/both.txt'), 'create', from);
    await t.request('DELETE', `/watchers/${second.id}`);
    const later = ev.events.length;
    appendFileSync(at('sub/both.txt'), 'x');
    await ev.waitForChange(id, at('sub/both.txt'), 'write', later);
    await ev.barrier(id, root);
    expect(ev.events.slice(later).filter((e) => e.watcher_id === second.id)).toEqual([]);
  });

  it('does not follow a symlink out of the tree', async () => {
    const target = path.join(outside, `target-${n}`);
    mkdirSync(target);
    sh(`ln -s ${JSON.stringify(target)} link`);
    await ev.barrier(id, root);
    const from = ev.events.length;
    writeFileSync(path.join(target, 'x.txt'), '');
    await ev.barrier(id, root);
    expect(ev.changes(id, root, from).filter((c) => !c.includes('sentinel'))).toEqual([]);
  });
});
