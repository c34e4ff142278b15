// The reference's runtime examples, transcribed, on each driver: a real agent (direct connection), and a
// sandboxed workspace reached through the control plane and the gateway (see openSdkWorkspace).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Runtime } from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { driverVariants } from '../../api/test/helpers/driver-stack.js';
import { openSdkWorkspace, type SdkWorkspace } from './helpers/sdk-workspace.js';

const SLOT = 31;
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

for (const variant of driverVariants()) {
  describe.skipIf(variant.skip)(`the reference's runtime examples (${variant.title})`, () => {
    let w: SdkWorkspace;
    let rt: Runtime;
    let app: string;
    beforeAll(async () => {
      w = await openSdkWorkspace(variant, SLOT);
      rt = w.rt;
      app = path.join(w.workdir, 'app');
      await mkdir(w.hostPath(path.join(app, 'src')), { recursive: true });
      await writeFile(
        w.hostPath(path.join(app, 'src', 'main.go')),
        'package main\n\nfunc main() {\n\thandleRequest(nil, nil)\n}\n\nfunc handleRequest(w, r any) {}\n',
      );
      await writeFile(w.hostPath(path.join(app, 'src', 'notes.bin')), Buffer.from([0, 1, 2, 3]));
      await w.handOver(app);
    }, 120_000);
    afterAll(async () => {
      await w?.close();
    }, 120_000);

    describe('Files', () => {
      it('lists a directory', async () => {
        const result = await rt.files.list({
          dirPath: `${app}/src`,
          nested: true,
          flatten: true,
          includeContent: true,
          codeFilesOnly: true,
          maxDepth: 5,
        });
        expect(result.entries.map((e) => e.name)).toEqual(['main.go']);
        expect(result.count).toBe(1);
        expect(result.entries[0]?.content).toContain('package main');
      });

      it('streams a directory', async () => {
        const names: string[] = [];
        for await (const entry of rt.files.stream({ dirPath: app, includeContent: true, codeFilesOnly: true })) {
          names.push(entry.name);
        }
        expect(names).toContain('main.go');
        expect(names).not.toContain('notes.bin');
      });

      it('reads a file and a range of it', async () => {
        const file = await rt.files.read({ filePath: `${app}/src/main.go` });
        expect(file.content.startsWith('package main')).toBe(true);
        expect(file.lines).toBe(7);
        expect(file.size).toBe(Buffer.byteLength(file.content));
        const partial = await rt.files.read({ filePath: `${app}/src/main.go`, startLine: 3, endLine: 5, withLineNumbers: true });
        expect(partial.content).toBe('3\tfunc main() {\n4\t\thandleRequest(nil, nil)\n5\t}\n');
        expect(partial.start_line).toBe(3);
      });

      it('writes, appends, makes directories, stats and deletes', async () => {
        const result = await rt.files.write({ fullPath: `${app}/src/hello.txt`, content: 'Hello, world!', createDirs: true });
        expect(result.path).toBe(`${app}/src/hello.txt`);
        expect(result.size).toBe(13);
        await rt.files.write({ fullPath: `${app}/logs/output.log`, content: 'New log entry\n', append: true, createDirs: true });
        await rt.files.write({ fullPath: `${app}/logs/output.log`, content: 'Another\n', append: true, createDirs: true });
        expect((await rt.files.read({ filePath: `${app}/logs/output.log` })).content).toBe('New log entry\nAnother\n');
        await rt.files.mkdir({ path: `${app}/src/utils/helpers` });
        const info = await rt.files.stat({ path: `${app}/src/main.go` });
        expect(info.type).toBe('file');
        expect(info.permissions).toBe('0644');
        expect(info.is_code).toBe(true);
        await rt.files.delete({ path: `${app}/src/hello.txt` });
        await expect(rt.files.stat({ path: `${app}/src/hello.txt` })).rejects.toMatchObject({ status: 404, code: 'not_found' });
      });
    });

    describe('Search', () => {
      it('searches contents, results as an array of files', async () => {
        const results = await rt.search.content({ query: 'handleRequest', path: `${app}/src`, contextLines: 2, maxResults: 100 });
        const seen: string[] = [];
        for (const file of results.results) {
          for (const match of file.matches) seen.push(`${file.path}:${match.line}`);
        }
        expect(seen).toEqual(['main.go:4', 'main.go:7']);
        expect(results.raw.results['main.go']).toHaveLength(2);
      });

      it('searches file names', async () => {
        const results = await rt.search.files({ query: 'main', path: `${app}/src`, maxResults: 50 });
        expect(results.files).toEqual(['main.go']);
        expect(results.total_files).toBe(1);
      });

      it('reports ripgrep', async () => {
        const status = await rt.search.status();
        expect(status.installed).toBe(true);
        expect(status.version).toMatch(/^ripgrep /);
      });
    });

    describe('Command execution', () => {
      it('runs synchronously', async () => {
        const result = await rt.exec.run(['echo', 'hello']);
        expect(result.exit_code).toBe(0);
        expect(result.stdout).toBe('hello\n');
        expect(result.stderr).toBe('');
      });

      it('streams with an async generator', async () => {
        let out = '';
        let code: number | undefined;
        for await (const ev of rt.exec.stream(['sh', '-c', 'echo one; echo two >&2; exit 3'])) {
          if (ev.event === 'stdout') out += decode(ev.data);
          if (ev.event === 'exit') code = ev.exit_code;
        }
        expect(out).toBe('one\n');
        expect(code).toBe(3);
      });

      it('lists, gets, feeds stdin, subscribes and kills tasks', async () => {
        const started = rt.exec.stream(['cat'], { keepLogs: true });
        const first = await started.next();
        const taskId = (first.value as { task_id: string }).task_id;
        await started.return(undefined);
        const tasks = await rt.exec.list();
        expect(tasks.some((task) => task.id === taskId && task.command.join(' ') === 'cat')).toBe(true);
        expect((await rt.exec.input(taskId, 'yes\n')).bytes_written).toBe(4);
        await rt.exec.closeStdin(taskId);
        let out = '';
        for await (const ev of rt.exec.subscribe(taskId)) {
          if (ev.event === 'stdout') out += decode(ev.data);
          if (ev.event === 'output') out += ev.stdout ?? '';
        }
        expect(out).toBe('yes\n');
        expect((await rt.exec.get(taskId)).status).toBe('exited');
        await rt.exec.kill(taskId);
        await expect(rt.exec.get(taskId)).rejects.toMatchObject({ status: 404 });
      });
    });

    describe('Terminal sessions and the WebSocket', () => {
      it('creates a session, talks to it over rt.ws() and closes it', async () => {
        const term = await rt.terminal.create({ shell: '/bin/bash', cols: 120, rows: 40 });
        expect(term.cols).toBe(120);
        expect(term.rows).toBe(40);
        const sessions = await rt.terminal.list();
        expect(sessions.find((s) => s.id === term.id)?.alive).toBe(true);

        const ws = rt.ws({ reconnect: false });
        let screen = '';
        ws.onTerminalOutput((id, data) => {
          if (id === term.id) screen += new TextDecoder().decode(data);
        });
        const exited = new Promise<number>((resolve) => ws.onTerminalExit((id, code) => id === term.id && resolve(code)));
        await ws.connect();
        ws.resizeTerminal(term.id, 160, 50);
        ws.writeTerminalInput(term.id, 'echo marker-$((6*7)); stty size\n');
        await expect.poll(() => screen, { timeout: 10_000 }).toContain('marker-42');
        await expect.poll(() => screen, { timeout: 10_000 }).toContain('50 160');
        ws.writeTerminalInput(term.id, 'exit 5\n');
        expect(await exited).toBe(5);

        const scrollback = await rt.terminal.scrollback(term.id);
        expect(scrollback.alive).toBe(false);
        expect(decode(scrollback.scrollback)).toContain('marker-42');
        await rt.terminal.close(term.id);
        ws.close();
      });
    });

    describe('File watcher', () => {
      it('creates, lists and deletes a watcher, with events over rt.ws()', async () => {
        const watcher = await rt.watcher.create({ path: `${app}/src`, excludes: ['*.log', 'tmp'] });
        expect(watcher.root).toBe(`${app}/src`);
        const events: Array<{ type: string; path?: string; op?: string }> = [];
        const ws = rt.ws({ reconnect: false });
        ws.onWatcherEvent((ev) => events.push(ev));
        await ws.connect();
        await expect.poll(() => events.some((e) => e.type === 'ready')).toBe(true);
        await mkdir(w.hostPath(path.join(app, 'src', 'lib')));
        await expect
          .poll(() => events.find((e) => e.type === 'change' && e.path === `${app}/src/lib`), { timeout: 5_000 })
          .toMatchObject({ op: 'create' });
        const watchers = await rt.watcher.list();
        expect(watchers.map((w) => w.id)).toContain(watcher.id);
        await rt.watcher.delete(watcher.id);
        ws.close();
      });
    });

    describe('Runtime', () => {
      it('reports health and info', async () => {
        expect(await rt.health()).toBe(true);
        expect(await rt.info()).toMatchObject({ success: true });
        expect(await new Runtime({ baseURL: 'http://127.0.0.1:1', token: 'x', maxRetries: 0 }).health()).toBe(false);
      });
    });
  });
}
