import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient, startRelay } from './helpers.js';

// Answers with a Content-Length: their bodies are counted by the upstream connection, not parsed by llhttp (it
// stops after the head). Whatever the reads look like, the caller gets exactly the body, the connection to the
// upstream is reused only after a clean answer, and llhttp's framing checks still refuse what they refused.

/** An upstream that answers each request head with `answer(index)`: a list of writes, a few ms apart. */
async function scriptedUpstream(answer: (request: number) => (string | Buffer)[]) {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  let requests = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', async (text: string) => {
      buffered += text;
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        buffered = buffered.slice(end + 4);
        for (const piece of answer(requests++)) {
          if (socket.destroyed) return;
          socket.write(piece);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function relayTo(answer: (request: number) => (string | Buffer)[]) {
  const upstream = await scriptedUpstream(answer);
  closers.push(upstream.close);
  const relay = await startRelay(upstream.port);
  closers.push(relay.close);
  const client = await RawClient.connect(relay.port);
  closers.push(async () => client.close());
  return { upstream, client };
}

const GET = (path: string, method = 'GET') => `${method} ${path} HTTP/1.1\r\nHost: h\r\n\r\n`;

/** The answers in `text` as [head, body] pairs, bodies taken by their Content-Length. */
function answers(text: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf('\r\n\r\n', at);
    const head = text.slice(at, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    const noBody = /^HTTP\/1\.1 (204|304)/.test(head) || /\r\nx-head: yes/i.test(head);
    const bodyLength = noBody ? 0 : length;
    out.push({ head, body: text.slice(end + 4, end + 4 + bodyLength) });
    at = end + 4 + bodyLength;
  }
  return out;
}

describe('answers with a Content-Length', () => {
  it('relays a body split across reads, in any split, and reuses the connection', async () => {
    const { upstream, client } = await relayTo((n) =>
      n === 0
        ? ['HTTP/1.1 200 OK\r\nContent-Length: 11\r\n', '\r\nhel', 'lo ', 'world']
        : ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain'],
    );
    client.send(GET('/one'));
    await client.until((t) => t.endsWith('hello world'));
    client.send(GET('/two'));
    const text = await client.until((t) => t.endsWith('again'));
    expect(answers(text).map((a) => a.body)).toEqual(['hello world', 'again']);
    expect(upstream.connections()).toBe(1);
  });

  it('relays large bodies intact while their callers do not read: pieces kept for later are copies', async () => {
    // More than loopback's socket buffers hold, so that writes to the first caller wait in the relay.
    const SIZE = 12 * 1024 * 1024;
    const bodyOf = (seed: number) => {
      const body = Buffer.alloc(SIZE);
      for (let i = 0; i < body.length; i++) body[i] = (i * seed) % 251;
      return body;
    };
    const bodies = [bodyOf(7919), bodyOf(104_729)];
    const { client } = await relayTo((n) => {
      const body = bodies[n] as Buffer;
      return [
        Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body.subarray(0, 40_000)]),
        body.subarray(40_000, SIZE / 2),
        body.subarray(SIZE / 2),
      ];
    });
    // The first caller does not read: what the relay could not write stays queued while the second answer is read
    // through the same read buffer.
    client.socket.pause();
    client.send(GET('/first'));
    const relayPort = (client.socket.remotePort as number) ?? 0;
    const second = await RawClient.connect(relayPort);
    closers.push(async () => second.close());
    await new Promise((r) => setTimeout(r, 100));
    second.send(GET('/second'));
    const complete = (t: string) => t.indexOf('\r\n\r\n') >= 0 && t.length >= t.indexOf('\r\n\r\n') + 4 + SIZE;
    await second.until(complete);
    client.socket.resume();
    await client.until(complete);
    const bodyIn = (text: string) => Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1');
    expect(bodyIn(client.text).equals(bodies[0] as Buffer)).toBe(true);
    expect(bodyIn(second.text).equals(bodies[1] as Buffer)).toBe(true);
  });

  it('relays no body for HEAD, 204 and 304, and no wait for a Content-Length of 0', async () => {
    const { upstream, client } = await relayTo((n) => {
      if (n === 0) return ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-Head: yes\r\n\r\n'];
      if (n === 1) return ['HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n'];
      if (n === 2) return ['HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'];
      if (n === 3) return ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'];
      return ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlast'];
    });
    client.send(GET('/head', 'HEAD'));
    await client.until((t) => t.endsWith('\r\n\r\n'));
    for (const path of ['/204', '/304', '/empty', '/last']) {
      const before = client.text.length;
      client.send(GET(path));
      await client.until((t) => t.length > before && t.endsWith(path === '/last' ? 'last' : '\r\n\r\n'));
    }
    const all = answers(client.text);
    expect(all.map((a) => a.head.split('\r\n')[0])).toEqual([
      'HTTP/1.1 200 OK',
      'HTTP/1.1 204 No Content',
      'HTTP/1.1 304 Not Modified',
      'HTTP/1.1 200 OK',
      'HTTP/1.1 200 OK',
    ]);
    expect(all.map((a) => a.body)).toEqual(['', '', '', '', 'last']);
    expect(upstream.connections()).toBe(1);
  });

  it('does not reuse a connection on which the upstream sent bytes after a whole answer', async () => {
    const { upstream, client } = await relayTo((n) =>
      n === 0
        ? ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra']
        : ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext'],
    );
    client.send(GET('/one'));
    await client.until((t) => t.endsWith('ok'));
    client.send(GET('/two'));
    const text = await client.until((t) => t.endsWith('next'));
    expect(answers(text).map((a) => a.body)).toEqual(['ok', 'next']);
    expect(text).not.toContain('extra');
    expect(upstream.connections()).toBe(2);
  });

  it('cuts the caller when the upstream closes before the whole body', async () => {
    const { upstream, client } = await relayTo(() => ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part']);
    client.send(GET('/short'));
    await client.until((t) => t.endsWith('only part'));
    await upstream.close();
    await client.closed;
    expect(client.text.endsWith('\r\n\r\nonly part')).toBe(true);
  });

  it.each([
    ['two Content-Lengths', 'Content-Length: 2\r\nContent-Length: 2'],
    ['Content-Length with Transfer-Encoding', 'Content-Length: 2\r\nTransfer-Encoding: chunked'],
    ['a Content-Length that is not all digits', 'Content-Length: +2'],
  ])('refuses an answer with %s (502), as llhttp did', async (_what, framing) => {
    const { client } = await relayTo(() => [`HTTP/1.1 200 OK\r\n${framing}\r\n\r\nok`]);
    client.send(GET('/bad'));
    const text = await client.until((t) => t.endsWith('}'));
    expect(text.split('\r\n')[0]).toBe('HTTP/1.1 502 Bad Gateway');
    expect(text).not.toMatch(/\r\n\r\nok/);
  });
});
