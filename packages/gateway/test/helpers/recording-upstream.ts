import http, { type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  upgrade: boolean;
}

export interface RecordingUpstream {
  /** Every request and upgrade that reached this upstream. */
  requests: RecordedRequest[];
  ip: string;
  port: number;
  /** Replaces the answer to plain requests. */
  respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  close(): Promise<void>;
}

/**
 * A plain node:http server standing in for an agent: it records what
 * reaches it (to prove refused requests never do) and echoes requests back.
 */
export async function startRecordingUpstream(host = '127.0.0.1'): Promise<RecordingUpstream> {
  const sockets = new Set<Socket>();
  const upstream: RecordingUpstream = {
    requests: [],
    ip: host,
    port: 0,
    respond: (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.stringify({
          success: true,
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const record = (req: http.IncomingMessage, upgrade: boolean) =>
    upstream.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, upgrade });
  const server = http.createServer((req, res) => {
    record(req, false);
    upstream.respond(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket: Socket) => {
    record(req, true);
    socket.end('HTTP/1.1 418 Teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}');
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  upstream.port = typeof address === 'object' && address ? address.port : 0;
  return upstream;
}
