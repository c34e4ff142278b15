// The official `oblien` SDK (2.4.0) as a black-box client of Cove's terminals and `/ws`, on each driver
// (see openOfficialWorkspace: through the gateway on the sandbox).
import type { Runtime } from 'oblien/runtime';
import { describe, expect, it } from 'vitest';
import { describeOnEachDriver } from './helpers/official-runtime.js';
import { until } from './helpers/until.js';

const SLOT = 24;

type Ws = ReturnType<Runtime['ws']>;

/** An SDK socket that records terminal output per id and exit codes. */
function recordingSocket(rt: Runtime) {
  const ws: Ws = rt.ws({ reconnect: false });
  const output = new Map<string, string>();
  const exits = new Map<string, number>();
  const messages: unknown[] = [];
  const decoder = new TextDecoder();
  ws.onTerminalOutput((id, data) => output.set(id, (output.get(id) ?? '') + decoder.decode(data)));
  ws.onTerminalExit((id, code) => exits.set(id, code));
  ws.onMessage((m) => messages.push(m));
  const opened = new Promise<void>((resolve) => ws.onOpen(() => resolve()));
  ws.connect();
  return { ws, output, exits, messages, opened };
}

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK against ${variant.title}`,
  (w) => {
    describe('rt.terminal', () => {
      it('creates, lists, reads the scrollback of and closes a session', async () => {
        const term = await w.rt.terminal.create({ cmd: ['sh', '-c', 'printf ready; sleep 60'], cols: 120, rows: 40, scrollbackSize: 4096 });
        expect(term).toMatchObject({
          success: true,
          command: ['sh', '-c', 'printf ready; sleep 60'],
          cols: 120,
          rows: 40,
          alive: true,
          scrollback_size: 4096,
        });
        expect(term.id).toMatch(/^\d+$/);

        const list = await w.rt.terminal.list();
        expect(list.find((s) => s.id === term.id)).toMatchObject({ alive: true, exit_code: 0, cols: 120, rows: 40 });

        let r = await w.rt.terminal.scrollback(term.id);
        while (r.size < 5) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          r = await w.rt.terminal.scrollback(term.id);
        }
        expect(r).toMatchObject({ success: true, size: 5, alive: true, exit_code: 0 });
        expect(Buffer.from(r.scrollback, 'base64').toString()).toBe('ready');
        const last = await w.rt.terminal.scrollback(term.id, { bytes: 2 });
        expect(Buffer.from(last.scrollback, 'base64').toString()).toBe('dy');

        expect(await w.rt.terminal.close(term.id)).toEqual({ success: true, terminal_id: term.id });
        expect((await w.rt.terminal.list()).map((s) => s.id)).not.toContain(term.id);
      });

      it('accepts `shell` (sent as cmd) and rejects unknown sessions with NotFoundError', async () => {
        const term = await w.rt.terminal.create({ shell: '/bin/sh' });
        expect(term.command).toEqual(['/bin/sh']);
        await w.rt.terminal.close(term.id);
        await expect(w.rt.terminal.close('199')).rejects.toMatchObject({ status: 404, code: 'not_found' });
        await expect(w.rt.terminal.scrollback('199')).rejects.toMatchObject({ status: 404 });
      });

      it('surfaces 400 for a bad size', async () => {
        await expect(w.rt.terminal.create({ cols: 100000 })).rejects.toMatchObject({ status: 400, code: 'bad_request' });
      });
    });

    describe('rt.ws()', () => {
      it('types into a shell, resizes it and sees it exit', async () => {
        const term = await w.rt.terminal.create({ cmd: ['/bin/bash', '--norc', '--noprofile'] });
        const s = recordingSocket(w.rt);
        await s.opened;
        expect(s.ws.connected).toBe(true);
        s.ws.writeTerminalInput(term.id, 'echo sdk-$((20+22))\r');
        await until(() => s.output.get(term.id)?.includes('sdk-42'), 'echo');
        s.ws.resizeTerminal(term.id, 132, 43);
        s.ws.writeTerminalInput(Number(term.id), new TextEncoder().encode('stty size\r'));
        await until(() => s.output.get(term.id)?.includes('43 132'), 'stty size');
        s.ws.writeTerminalInput(term.id, 'exit 3\r');
        expect(await until(() => s.exits.get(term.id), 'exit')).toBe(3);
        // Every text frame names its channel.
        expect(s.messages.every((m) => typeof (m as { channel?: unknown }).channel === 'string')).toBe(true);
        s.ws.close();
      });

      it('delivers everything to two SDK connections at once, and replays on connect', async () => {
        const term = await w.rt.terminal.create({ cmd: ['/bin/bash', '--norc', '--noprofile'] });
        const one = recordingSocket(w.rt);
        const two = recordingSocket(w.rt);
        await Promise.all([one.opened, two.opened]);
        one.ws.writeTerminalInput(term.id, 'echo both-$((3*3))\r');
        for (const s of [one, two]) await until(() => s.output.get(term.id)?.includes('both-9'), 'output on both');
        two.ws.writeTerminalInput(term.id, 'echo second-$((4*4))\r');
        for (const s of [one, two]) await until(() => s.output.get(term.id)?.includes('second-16'), 'second on both');
        one.ws.close();
        two.ws.close();

        // A later connection restores the screen from the scrollback.
        const three = recordingSocket(w.rt);
        await three.opened;
        await until(() => three.output.get(term.id)?.includes('second-16'), 'replay');
        await w.rt.terminal.close(term.id);
        expect(await until(() => three.exits.get(term.id), 'exit after close')).toBe(129);
        three.ws.close();
      });
    });
  },
);
