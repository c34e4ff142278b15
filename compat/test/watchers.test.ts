// Black-box: the official `oblien` SDK (2.4.0) drives Cove's watchers and receives their events over /ws, on
// each driver (see openOfficialWorkspace); the host changes the workspace's files behind the API's back.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeOnEachDriver } from './helpers/official-runtime.js';

type WatcherEvent = { channel: string; type: string; watcher_id: string; [k: string]: unknown };

const SLOT = 25;

/** Resolves with the first recorded event matching `check`, checking again as events arrive. */
function waitFor(events: WatcherEvent[], check: (e: WatcherEvent) => boolean, what: string): Promise<WatcherEvent> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const found = events.find(check);
      if (found) return resolve(found);
      if (Date.now() - started > 15_000) return reject(new Error(`no ${what}; got ${JSON.stringify(events.slice(-10))}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK against ${variant.title}`,
  (w) => {
    describe('rt.watcher', () => {
      it('create() returns the watcher with dir_count; list(), get() and delete() work', async () => {
        const root = path.join(w.workdir, 'crud');
        mkdirSync(w.hostPath(path.join(root, 'src/lib')), { recursive: true });
        mkdirSync(w.hostPath(path.join(root, 'node_modules/x')), { recursive: true });

        const created = await w.rt.watcher.create({ path: root, excludes: ['*.log'] });
        expect(created).toMatchObject({ root, dir_count: 3, active: true });
        expect(created.id).toMatch(/^\d+$/);
        expect(created.excludes).toContain('node_modules');
        expect(created.excludes).toContain('*.log');

        const listed = await w.rt.watcher.list();
        expect(listed).toEqual([expect.objectContaining({ id: created.id, root, dir_count: 3 })]);
        expect(await w.rt.watcher.get(created.id)).toMatchObject({ id: created.id, root, dir_count: 3, active: true });

        expect(await w.rt.watcher.delete(created.id)).toEqual({ success: true, watcher_id: created.id });
        expect(await w.rt.watcher.list()).toEqual([]);
      });

      it('create() with the aliases `root` and `exclude` the SDK documents', async () => {
        const root = path.join(w.workdir, 'aliases');
        mkdirSync(w.hostPath(path.join(root, 'skip')), { recursive: true });
        const created = await w.rt.watcher.create({ path: '', root, exclude: ['skip'] });
        expect(created).toMatchObject({ root, dir_count: 1 });
        await w.rt.watcher.delete(created.id);
      });

      it('surfaces errors as thrown errors (success: false bodies)', async () => {
        await expect(w.rt.watcher.create({ path: path.join(w.workdir, 'missing') })).rejects.toThrow(/not found/);
        await expect(w.rt.watcher.get('4242')).rejects.toThrow(/watcher not found/);
        await expect(w.rt.watcher.delete('4242')).rejects.toThrow(/watcher not found/);
      });
    });

    describe('rt.ws().onWatcherEvent', () => {
      it('receives ready (replayed on connect) and change events', async () => {
        const root = path.join(w.workdir, 'events');
        mkdirSync(w.hostPath(root));
        const created = await w.rt.watcher.create({ path: root });

        const events: WatcherEvent[] = [];
        const ws = w.rt.ws({ reconnect: false });
        ws.onWatcherEvent((e) => events.push(e as unknown as WatcherEvent));
        ws.connect();
        try {
          // Connected after the create: the ready event is replayed to it.
          const ready = await waitFor(events, (e) => e.type === 'ready' && e.watcher_id === created.id, 'ready');
          expect(ready).toEqual({ channel: 'watcher', type: 'ready', watcher_id: created.id, root, dirs: 1 });

          writeFileSync(w.hostPath(path.join(root, 'hello.txt')), '');
          const change = await waitFor(events, (e) => e.type === 'change', 'change');
          expect(change).toEqual({
            channel: 'watcher',
            type: 'change',
            watcher_id: created.id,
            path: path.join(root, 'hello.txt'),
            op: 'create',
          });
        } finally {
          ws.close();
          await w.rt.watcher.delete(created.id);
        }
      });
    });
  },
);
