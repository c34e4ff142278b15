import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { WebSocketServer } from 'ws';
import { startTestAgent, type TestAgent } from '../helpers/agent.js';

/** What the app saw of one request: the proof that the agent forwarded it unchanged (or stripped it). */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers: Record<string, string | undefined>;
}

export interface TestApp {
  port: number;
  server: Server;
  /** TCP connections the app accepted so far (keep-alive reuse shows as fewer connections than requests). */
  connections: number;
  /** Bytes `/download` wrote, and how often `write()` returned false (the agent stopped reading). */
  download: { written: number; blocked: number; done: boolean };
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * A real app on 127.0.0.1:0 built from Node's own modules (and `ws` for the
 * WebSocket echo): `/echo…` answers what it received; `/sse` streams three
 * events a tick apart; `/upload` counts a (chunked) body; `/download?mib=N`
 * writes N MiB honouring backpressure; `/trailers` ends with a trailer;
 * `/close` answers with `Connection: close`; `/status/N` answers N; `/ws`
 * echoes WebSocket frames, binary as binary (`close-me` closes with 4000).
 */
export async function startTestApp(): Promise<TestApp> {
  const app: TestApp = {
    port: 0,
    server: undefined as unknown as Server,
    connections: 0,
    download: { written: 0, blocked: 0, done: false },
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://app');
    if (url.pathname === '/sse') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      for (let i = 1; i <= 3; i++) {
        res.write(`event: tick\ndata: {"n":${i}}\n\n`);
        await new Promise((r) => setTimeout(r, 20));
      }
      res.end();
      return;
    }
    if (url.pathname === '/upload') {
      let bytes = 0;
      for await (const chunk of req) bytes += (chunk as Buffer).length;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ bytes, te: req.headers['transfer-encoding'] ?? null, trailers: req.trailers }));
      return;
    }
    if (url.pathname === '/download') {
      const total = Number(url.searchParams.get('mib') ?? '1') * MiB;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      app.download = { written: 0, blocked: 0, done: false };
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
      while (app.download.written < total && !res.destroyed) {
        app.download.written += chunk.length;
        if (!res.write(chunk)) {
          app.download.blocked++;
          await new Promise<void>((r) => {
            const done = () => {
              res.off('drain', done);
              res.off('close', done);
              r();
            };
            res.on('drain', done);
            res.on('close', done);
          });
        }
      }
      app.download.done = true;
      res.end();
      return;
    }
    if (url.pathname === '/trailers') {
      res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-checksum' });
      res.write('body');
      res.addTrailers({ 'x-checksum': 'abc123' });
      res.end();
      return;
    }
    if (url.pathname === '/close') {
      res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' });
      res.end('bye');
      return;
    }
    const status = /^\/status\/(\d{3})$/.exec(url.pathname);
    if (status) {
      res.writeHead(Number(status[1]), { 'x-app': 'yes', 'set-cookie': ['a=1', 'b=2'] });
      res.end(`status ${status[1]}`);
      return;
    }
    const body = await readBody(req);
    const seen: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      headers: req.headers,
      body: body.toString('utf8'),
      trailers: req.trailers,
    };
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'from-the-app', 'x-app-header': 'kept' });
    res.end(JSON.stringify(seen));
  });
  server.on('connection', () => app.connections++);
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url?.startsWith('/ws')) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(JSON.stringify({ url: req.url, headers: req.headers }));
      ws.on('message', (data, isBinary) => {
        if (!isBinary && String(data) === 'close-me') ws.close(4000, 'bye');
        else ws.send(data as Buffer, { binary: isBinary });
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  app.port = (server.address() as AddressInfo).port;
  app.server = server;
  app.close = async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return app;
}

/**
 * Starts a real agent and the test app beside it before the file's tests and closes both after them;
 * `use` receives them once started.
 */
export function useAgentAndApp(use: (agent: TestAgent, app: TestApp) => void): void {
  let agent: TestAgent | undefined;
  let app: TestApp | undefined;
  beforeAll(async () => {
    agent = await startTestAgent();
    app = await startTestApp();
    use(agent, app);
  });
  afterAll(async () => {
    await app?.close();
    await agent?.close();
  });
}
