// A workspace that dies without a FIN or RST (its whole container killed, its network gone with it): the gateway
// ends what it relays to it — WebSockets with a close frame that says why, streams cut, requests in flight
// answered — when told by the driver (`agentExited`) or when the workspace's route says it stopped or moved.
// The agents here hold every connection open and never close one: only the gateway can end them.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { WorkspaceRoute } from '@cove/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startTestGateway, type TestGateway } from './helpers/gateway.js';
import { mintToken } from './helpers/tokens.js';

interface Agent {
  port: number;
  /** Resolves once a request for `/hold` arrived. */
  held: Promise<void>;
  close(): Promise<void>;
}

/** An agent that never ends anything: SSE that stays open, requests never answered, WebSockets that echo. */
async function startSilentAgent(): Promise<Agent> {
  let holding = (): void => {};
  const held = new Promise<void>((resolve) => {
    holding = resolve;
  });
  const sockets = new Set<net.Socket>();
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const server = http.createServer((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('event: hello\ndata: 1\n\n');
      return;
    }
    req.resume(); // /hold: read, never answer
    holding();
  });
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

/**
 * A raw agent for WebSocket framing cases: it answers the handshake with `bytes` in the same write (so that they
 * reach the gateway with the 101), then ends the connection or, with `hold`, keeps it open.
 */
async function startRawWsAgent(bytes: number[], hold = false): Promise<Agent> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.setEncoding('latin1');
    const onData = (text: string) => {
      head += text;
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const key = /sec-websocket-key: *(.+)\r\n/i.exec(head)?.[1]?.trim() ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      const answer = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
      const all = Buffer.concat([Buffer.from(answer, 'latin1'), Buffer.from(bytes)]);
      if (hold) socket.write(all);
      else socket.end(all);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    held: new Promise(() => {}),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function gatewayWith(options: { relayCheckMs?: number } = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ routeCacheMs: 0, ...options });
  cleanups.push(() => gw.close());
  return gw;
}

async function agent(start: Promise<Agent>): Promise<Agent> {
  const a = await start;
  cleanups.push(() => a.close());
  return a;
}

function route(workspaceId: string, port: number, change: Partial<WorkspaceRoute> = {}): WorkspaceRoute {
  return {
    workspaceId,
    ip: '127.0.0.1',
    port,
    rawToken: 'r'.repeat(32),
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
    ...change,
  };
}

async function tokenFor(gw: TestGateway, r: WorkspaceRoute): Promise<string> {
  gw.routes.set(r);
  return mintToken({ wid: r.workspaceId, ip: r.ip, port: r.port, gen: r.generation });
}

/** An open WebSocket through the gateway and the promise of its close, as `code reason`. */
async function openWs(gw: TestGateway, token: string): Promise<{ ws: WebSocket; closed: Promise<string> }> {
  const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws?token=${token}`);
  ws.on('error', () => {});
  const closed = new Promise<string>((resolve) => ws.once('close', (code, reason) => resolve(`${code} ${reason}`)));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', () => reject(new Error('closed before it opened')));
  });
  return { ws, closed };
}

/** Whether a WebSocket still carries messages both ways (the silent agent echoes). */
async function echoes(ws: WebSocket, text: string): Promise<boolean> {
  const answer = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
  ws.send(text);
  return (await answer) === text;
}

/** An SSE stream through the gateway, read up to its first event; resolves to how it ended: 'end' or 'error'. */
async function openStream(gw: TestGateway, token: string): Promise<{ ended: Promise<'end' | 'error'> }> {
  const res = await fetch(`${gw.url}/stream`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let seen = '';
  while (!seen.includes('event: hello')) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error('the stream ended before its first event');
    seen += Buffer.from(chunk.value).toString();
  }
  return {
    ended: (async () => {
      try {
        for (;;) if ((await reader.read()).done) return 'end' as const;
      } catch {
        return 'error' as const;
      }
    })(),
  };
}

describe('relayed connections of a workspace whose agent died', () => {
  it('agentExited: its WebSocket gets 1011 with a reason, its SSE stream is cut, a request in flight is answered 503; other workspaces go on', async () => {
    const gw = await gatewayWith();
    const silent = await agent(startSilentAgent());
    const a = await tokenFor(gw, route('ws_dead', silent.port));
    const b = await tokenFor(gw, route('ws_alive', (await agent(startSilentAgent())).port));
    const dead = await openWs(gw, a);
    const alive = await openWs(gw, b);
    const stream = await openStream(gw, a);
    const held = fetch(`${gw.url}/hold`, { method: 'POST', headers: { authorization: `Bearer ${a}` }, body: 'x' });
    // The held request reached the agent before the kill (nothing answers it).
    await silent.held;

    gw.gateway.agentExited('ws_dead');

    expect(await dead.closed).toBe('1011 the workspace agent exited');
    // Mid-body: a reset, never a clean end that would read as a complete answer.
    expect(await stream.ended).toBe('error');
    const answer = await held;
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { code: string }).code).toBe('agent_unavailable');
    expect(await echoes(alive.ws, 'still here')).toBe(true);
    alive.ws.close();
  });

  it('its route says stopped: 1001; moved to another address: 1012 for what went to the old one; paused: kept', async () => {
    const gw = await gatewayWith({ relayCheckMs: 20 });
    const port = (await agent(startSilentAgent())).port;
    const stopped = await openWs(gw, await tokenFor(gw, route('ws_stopped', port)));
    const moved = await openWs(gw, await tokenFor(gw, route('ws_moved', port)));
    const paused = await openWs(gw, await tokenFor(gw, route('ws_paused', port)));

    gw.routes.update('ws_stopped', { running: false, ip: '', port: 0 });
    gw.routes.update('ws_moved', { port: (await agent(startSilentAgent())).port });
    gw.routes.update('ws_paused', { running: false, paused: true, wakeable: true });
    expect(await stopped.closed).toBe('1001 the workspace stopped');
    expect(await moved.closed).toBe('1012 the workspace restarted');
    // Several rounds of checks later, the paused workspace's WebSocket is still relayed (it goes on on resume).
    const from = gw.routes.lookups;
    while (gw.routes.lookups < from + 5) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(paused.ws.readyState).toBe(WebSocket.OPEN);
    expect(await echoes(paused.ws, 'frozen, not gone')).toBe(true);
    paused.ws.close();
  });

  it("the agent's own close passes as it is; an agent that leaves without one gets 1011; a cut mid-frame stays a cut", async () => {
    const gw = await gatewayWith();
    const through = async (id: string, a: Agent) => openWs(gw, await tokenFor(gw, route(id, a.port)));
    // A close frame of the agent's (1000 "bye"), then its FIN: the caller sees the agent's close, once.
    const polite = await through('ws_polite', await agent(startRawWsAgent([0x88, 0x05, 0x03, 0xe8, 0x62, 0x79, 0x65])));
    expect(await polite.closed).toBe('1000 bye');
    // A text frame, then a FIN without a close: the gateway says the agent left.
    const gone = await through('ws_gone', await agent(startRawWsAgent([0x81, 0x02, 0x68, 0x69])));
    expect(await gone.closed).toBe('1011 the workspace agent closed the connection');
    // Two bytes of a 10-byte frame, then nothing: a close frame now would land inside the agent's payload.
    const cut = await through('ws_cut', await agent(startRawWsAgent([0x82, 0x0a, 0x00, 0x01], true)));
    gw.gateway.agentExited('ws_cut');
    expect(await cut.closed).toBe('1006 ');
  });
});
