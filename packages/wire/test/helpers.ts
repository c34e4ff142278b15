import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { AppError } from '@cove/protocol';
import { type Exchange, headerLines, UpstreamPools, type UpstreamPoolsOptions, type WireHandOff, WireServer } from '../src/index.js';

/** Sends raw bytes on one connection and collects everything answered, as latin1 text. */
export class RawClient {
  readonly socket: net.Socket;
  text = '';
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (t: string) => {
      this.text += t;
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  send(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Resolves once `done(text)` holds (polling), or rejects after `ms`. */
  async until(done: (text: string) => boolean, ms = 5_000): Promise<string> {
    const deadline = Date.now() + ms;
    while (!done(this.text)) {
      if (Date.now() > deadline) throw new Error(`timed out; received: ${this.text}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.text;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** What an upstream node:http server saw of one request. */
export interface Seen {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
  trailers: Record<string, string | undefined>;
}

/** A node:http upstream that answers what it received as JSON; `/trailers` answers chunked with a trailer. */
export async function startUpstream(): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const entry: Seen = {
      method: req.method ?? '',
      url: req.url ?? '',
      rawHeaders: req.rawHeaders,
      body: Buffer.concat(chunks).toString('latin1'),
      trailers: req.trailers,
    };
    seen.push(entry);
    if (req.url === '/trailers') {
      res.writeHead(200, { trailer: 'x-sum' });
      res.write('piece');
      res.addTrailers({ 'x-sum': 'abc' });
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(entry));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/**
 * A bare relay on the wire: every request goes to `upstreamPort` with its
 * headers as they came (framing aside), through `UpstreamPools`. `handOff`
 * shares its connections with another server; `pools` adds pool options.
 */
export async function startRelay(
  upstreamPort: number,
  options: { handOff?: WireHandOff; pools?: Partial<UpstreamPoolsOptions> } = {},
): Promise<{ port: number; server: WireServer; close(): Promise<void> }> {
  const pools = new UpstreamPools({
    responseHeaders: (raw) => dropFraming(raw, HOP_BY_HOP),
    upstreamError: () => new AppError('bad_gateway', 'upstream unreachable'),
    ...options.pools,
  });
  const target = { origin: `http://127.0.0.1:${upstreamPort}`, ip: '127.0.0.1', port: upstreamPort };
  const wire = new WireServer(
    {
      request: (exchange: Exchange) => {
        const req = exchange.request;
        pools.forward(target, exchange, `${req.method} ${req.url} HTTP/1.1\r\n${headerLines(dropFraming(req.rawHeaders, FRAMING))}`);
      },
      upgrade: (_request, socket) => socket.destroy(),
    },
    {},
    options.handOff,
  );
  // Connections accepted by a TCP server of our own, as in the agent (the gateway uses `listen`).
  const tcp = net.createServer({ allowHalfOpen: true }, (socket) => wire.accept(socket));
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  return {
    port: (tcp.address() as AddressInfo).port,
    server: wire,
    close: async () => {
      pools.close();
      await wire.close();
      await new Promise((r) => tcp.close(r));
    },
  };
}

/** Never relayed: each hop frames its own messages (a response's Content-Length stays: the exchange keeps it). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'upgrade']);
const FRAMING = new Set([...HOP_BY_HOP, 'content-length']);

function dropFraming(raw: readonly string[], drop: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (!drop.has((raw[i] as string).toLowerCase())) out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}
