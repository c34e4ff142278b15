import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTerminalsDomain } from '../../src/terminals/index.js';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';
import { createTerminal, renderScreen, WsTestClient } from './ws-helpers.js';

let t: TestAgent;
const clients: WsTestClient[] = [];
beforeAll(async () => {
  t = await startTestAgent({ domains: [createTerminalsDomain({ killGraceMs: 500 })] });
});
afterAll(async () => {
  await t.close();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  // Close every session and wait for the exit notices, so none reaches the next test's clients.
  const watcher = await WsTestClient.open(t);
  const { body } = await t.json<{ terminals: Array<{ id: string; alive: boolean }> }>('GET', '/terminals');
  for (const s of body.terminals) await t.json('DELETE', `/terminals/${s.id}`);
  for (const s of body.terminals.filter((x) => x.alive)) await watcher.waitForText((m) => m.type === 'exit' && m.id === s.id);
  await watcher.close();
});

async function connect(options: { query?: boolean } = {}): Promise<WsTestClient> {
  const c = await WsTestClient.open(t, options);
  clients.push(c);
  return c;
}

describe('terminal I/O over /ws', () => {
  it('echoes typed input and runs commands; the screen shows both', async () => {
    const id = await createTerminal(t);
    const ws = await connect();
    ws.input(id, 'echo hello-$((6*7))\r');
    await ws.waitForOutput(id, 'hello-42');
    const screen = await renderScreen(ws.output.get(id) ?? '');
    expect(screen.some((line) => line.includes('echo hello-$((6*7))'))).toBe(true);
    expect(screen).toContain('hello-42');
  });

  it('passes raw bytes both ways (UTF-8 and control characters)', async () => {
    const id = await createTerminal(t);
    const ws = await connect();
    ws.input(id, Buffer.from('printf "\\xc3\\xa9t\\xc3\\xa9\\n"\r'));
    await ws.waitForOutput(id, 'été');
    // Ctrl-C interrupts a running command; the shell is still there afterwards.
    ws.input(id, 'sleep 30\r');
    await new Promise((r) => setTimeout(r, 200));
    ws.input(id, '\x03');
    ws.input(id, 'echo after-$((1+1))\r');
    await ws.waitForOutput(id, 'after-2');
  });

  it('applies a resize frame: `stty size` follows it (id as string or number)', async () => {
    const id = await createTerminal(t, { cols: 80, rows: 24 });
    const ws = await connect();
    ws.send({ channel: 'terminal', type: 'resize', id: String(id), cols: 132, rows: 43 });
    ws.input(id, 'stty size\r');
    await ws.waitForOutput(id, '43 132');
    ws.send({ channel: 'terminal', type: 'resize', id, cols: 100, rows: 30 });
    ws.input(id, 'stty size\r');
    await ws.waitForOutput(id, '30 100');
    const list = await t.json<{ terminals: Array<{ id: string; cols: number; rows: number }> }>('GET', '/terminals');
    expect(list.body.terminals.find((s) => s.id === String(id))).toMatchObject({ cols: 100, rows: 30 });
    const screen = await renderScreen(ws.output.get(id) ?? '', 100, 30);
    expect(screen).toContain('30 100');
  });

  it('sends an exit frame with the exit code; the session stays listed as exited', async () => {
    const id = await createTerminal(t);
    const ws = await connect();
    ws.input(id, 'exit 3\r');
    const exit = await ws.waitForText((m) => m.type === 'exit');
    expect(exit).toEqual({ channel: 'terminal', type: 'exit', id: String(id), code: 3 });
    const sb = await t.json('GET', `/terminals/${id}/scrollback`);
    expect(sb.body).toMatchObject({ alive: false, exit_code: 3 });
  });

  it('delivers all output of a program that prints a lot and exits at once, before the exit frame', async () => {
    const ws = await connect();
    for (let i = 0; i < 5; i++) {
      const id = await createTerminal(t, { cmd: ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" x; printf END'] });
      await ws.waitForText((m) => m.type === 'exit' && m.id === String(id));
      const text = ws.text(id);
      expect(text.length).toBe(300003);
      expect(text.endsWith('xEND')).toBe(true);
    }
  });

  it('delivers every byte in order when output streams through many reads and frames', async () => {
    // The PTY is read into one reused buffer: each read must be copied out before the next one.
    const ws = await connect();
    const id = await createTerminal(t, { cmd: ['sh', '-c', 'stty -echo; seq 1 200000'] });
    await ws.waitForText((m) => m.type === 'exit' && m.id === String(id));
    const lines = Array.from({ length: 200000 }, (_, i) => String(i + 1));
    expect(ws.text(id)).toBe(`${lines.join('\r\n')}\r\n`);
  });

  it('closes a session with a close frame: exit notice to clients, gone from the list', async () => {
    const id = await createTerminal(t);
    const ws = await connect();
    await ws.waitForOutput(id, /[$#] $/); // the shell is up and waiting
    ws.send({ channel: 'terminal', type: 'close', id: String(id) });
    const exit = await ws.waitForText((m) => m.type === 'exit' && m.id === String(id));
    expect(exit.code).toBe(129); // SIGHUP, as when a terminal window closes
    const list = await t.json<{ terminals: Array<{ id: string }> }>('GET', '/terminals');
    expect(list.body.terminals.map((s) => s.id)).not.toContain(String(id));
  });

  it('replays the scrollback of live sessions and exit notices of exited ones on connect', async () => {
    const live = await createTerminal(t);
    const done = await createTerminal(t, { cmd: ['sh', '-c', 'echo bye; exit 4'] });
    const first = await connect();
    first.input(live, 'echo marker-$((2*21))\r');
    await first.waitForOutput(live, 'marker-42');
    await first.waitForText((m) => m.type === 'exit' && m.id === String(done));
    await first.close();

    const again = await connect();
    await again.waitForOutput(live, 'marker-42');
    const exit = await again.waitForText((m) => m.type === 'exit' && m.id === String(done));
    expect(exit).toEqual({ channel: 'terminal', type: 'exit', id: String(done), code: 4 });
    // Exited sessions get only their exit notice; their output is at /scrollback.
    expect(again.output.has(done), again.text(done)).toBe(false);
    const screen = await renderScreen(again.output.get(live) ?? '');
    expect(screen).toContain('marker-42');
  });

  it('broadcasts every session to every client, and either client can type', async () => {
    const a = await createTerminal(t);
    const b = await createTerminal(t);
    const one = await connect();
    const two = await connect({ query: true });
    one.input(a, 'echo from-one-$((1+1))\r');
    two.input(b, 'echo from-two-$((2+2))\r');
    for (const c of [one, two]) {
      await c.waitForOutput(a, 'from-one-2');
      await c.waitForOutput(b, 'from-two-4');
    }
    two.input(a, 'exit 5\r');
    for (const c of [one, two]) expect((await c.waitForText((m) => m.type === 'exit' && m.id === String(a))).code).toBe(5);
  });

  it("does not let a terminal inherit another terminal's PTY master fd", async () => {
    const first = await createTerminal(t);
    const second = await createTerminal(t);
    const ws = await connect();
    ws.input(second, 'ls -l /proc/$$/fd/ | grep -c ptmx; echo done-$((3*3))\r');
    const text = await ws.waitForOutput(second, /\r(\d+)\r\ndone-9/);
    expect(/\r(\d+)\r\ndone-9/.exec(text)?.[1]).toBe('0');
    ws.input(first, 'readlink /proc/$$/fd/* | grep -c ptmx; echo done-$((4*4))\r');
    const text1 = await ws.waitForOutput(first, /\r(\d+)\r\ndone-16/);
    expect(/\r(\d+)\r\ndone-16/.exec(text1)?.[1]).toBe('0');
    // The shell's own stdio is its PTY slave.
    ws.input(second, 'readlink /proc/$$/fd/0\r');
    await ws.waitForOutput(second, /\/dev\/pts\/\d+/);
  });
});

describe('bad input on /ws', () => {
  it('answers each bad frame with an error frame and keeps serving', async () => {
    const id = await createTerminal(t);
    const ws = await connect();
    const cases: Array<[unknown, Record<string, unknown>]> = [
      ['{not json', { channel: 'error', type: 'error', code: 'invalid_json' }],
      ['[1,2]', { channel: 'error', code: 'bad_request' }],
      ['"text"', { channel: 'error', code: 'bad_request' }],
      [
        { channel: 'nope', type: 'x' },
        { channel: 'error', error: "unknown channel 'nope'" },
      ],
      [{ channel: 'terminal' }, { channel: 'error', code: 'bad_request' }],
      [
        { channel: 'terminal', type: 'explode', id: '1' },
        { channel: 'terminal', type: 'error', code: 'bad_request' },
      ],
      [
        { channel: 'terminal', type: 'resize', id: '200', cols: 80, rows: 24 },
        { channel: 'terminal', type: 'error', code: 'not_found', id: '200' },
      ],
      [
        { channel: 'terminal', type: 'resize', cols: 80, rows: 24 },
        { channel: 'terminal', type: 'error', code: 'bad_request' },
      ],
      [
        { channel: 'terminal', type: 'resize', id: String(id), cols: 0, rows: 24 },
        { channel: 'terminal', type: 'error', code: 'bad_request', id: String(id) },
      ],
      [
        { channel: 'terminal', type: 'resize', id: String(id), cols: 100000, rows: 24 },
        { channel: 'terminal', type: 'error', code: 'bad_request' },
      ],
      [
        { channel: 'terminal', type: 'resize', id: String(id), cols: 80, rows: '24' },
        { channel: 'terminal', type: 'error', code: 'bad_request' },
      ],
      [
        { channel: 'terminal', type: 'close', id: { x: 1 } },
        { channel: 'terminal', type: 'error', code: 'bad_request' },
      ],
      [
        { type: 'resize', id: '250', cols: 1, rows: 1 },
        { channel: 'terminal', type: 'error', code: 'not_found' },
      ],
    ];
    for (const [frame, expected] of cases) {
      const before = ws.texts.length;
      ws.send(frame);
      const reply = await ws.waitFor(() => ws.texts[before], `reply to ${JSON.stringify(frame)}`);
      expect(reply, JSON.stringify(frame)).toMatchObject(expected);
      expect(typeof reply.error).toBe('string');
    }
    for (const [frame, expected] of [
      [Buffer.alloc(0), { channel: 'terminal', type: 'error', code: 'bad_request' }],
      [Buffer.from([0, 1, 2, 3]), { channel: 'terminal', type: 'error', code: 'not_found', id: '0' }],
      [Buffer.from([201, 0xff, 0xfe]), { channel: 'terminal', type: 'error', code: 'not_found', id: '201' }],
    ] as const) {
      const before = ws.texts.length;
      ws.socket.send(frame);
      expect(await ws.waitFor(() => ws.texts[before], 'binary reply')).toMatchObject(expected);
    }
    // Still serving: the terminal answers, the size was never changed.
    ws.input(id, 'stty size\r');
    await ws.waitForOutput(id, '24 80');
  });

  it('closes a connection that sends a frame over 1 MiB with 1009; other clients are unaffected', async () => {
    const id = await createTerminal(t);
    const bystander = await connect();
    const ws = await connect();
    ws.socket.send(Buffer.alloc(16 * 1024 * 1024, 0x61));
    expect((await ws.waitForClose()).code).toBe(1009);
    bystander.input(id, 'echo still-$((5*5))\r');
    await bystander.waitForOutput(id, 'still-25');
  });

  it('errors on input to an exited session', async () => {
    const id = await createTerminal(t, { cmd: ['true'] });
    const ws = await connect();
    await ws.waitForText((m) => m.type === 'exit');
    ws.input(id, 'x');
    expect(await ws.waitForText((m) => m.type === 'error')).toMatchObject({ channel: 'terminal', code: 'conflict', id: String(id) });
  });

  it('survives a client that connects and drops mid-stream', async () => {
    const id = await createTerminal(t, { cmd: ['sh', '-c', 'yes | head -c 5000000; sleep 30'] });
    for (let i = 0; i < 5; i++) {
      const raw = new WebSocket(`${t.url.replace('http', 'ws')}/ws?token=${t.token}`);
      await new Promise((r) => raw.once('open', r));
      raw.terminate();
    }
    const ws = await connect();
    ws.input(id, '');
    const res = await t.json('GET', '/terminals');
    expect(res.status).toBe(200);
  });
});
