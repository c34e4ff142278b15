import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, type Seen, startRelay, startUpstream } from './helpers.js';

// Trailers of chunked bodies: relayed both ways when the pools say so, dropped otherwise, and never mistaken for
// the next request's head.

let upstream: Awaited<ReturnType<typeof startUpstream>>;
let relaying: Awaited<ReturnType<typeof startRelay>>;
let dropping: Awaited<ReturnType<typeof startRelay>>;

beforeAll(async () => {
  upstream = await startUpstream();
  const pass = (raw: readonly string[]) => raw;
  relaying = await startRelay(upstream.port, { pools: { requestTrailers: pass, responseTrailers: pass } });
  dropping = await startRelay(upstream.port);
});

afterAll(async () => {
  await relaying.close();
  await dropping.close();
  await upstream.close();
});

const chunkedPost = (path: string, trailer: string) =>
  `POST ${path} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n${trailer}\r\n`;

/** The JSON bodies of the Content-Length framed answers in `text`, in order. */
function bodies(text: string): Seen[] {
  return text
    .split(/HTTP\/1\.1 /)
    .slice(1)
    .map((answer) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Seen);
}

describe('trailers', () => {
  it('relays a request body’s trailers, and the next request on the connection keeps its own head', async () => {
    const client = await RawClient.connect(relaying.port);
    // The second request comes after the first one's trailers, in the same write.
    client.send(`${chunkedPost('/first', 'X-Sum: 1\r\nX-Other: 2\r\n')}GET /second HTTP/1.1\r\nHost: h\r\nX-Mine: yes\r\n\r\n`);
    const text = await client.until((t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length === 2 && t.endsWith('}'));
    const [first, second] = bodies(text);
    expect(first).toMatchObject({ url: '/first', body: 'hello', trailers: { 'x-sum': '1', 'x-other': '2' } });
    expect(second?.url).toBe('/second');
    expect(second?.rawHeaders).toEqual(['Host', 'h', 'X-Mine', 'yes']);
    expect(second?.trailers).toEqual({});
    client.close();
  });

  it('keeps the next head whole when it has more than 32 headers', async () => {
    const client = await RawClient.connect(dropping.port);
    let many = '';
    for (let i = 0; i < 40; i++) many += `X-H${i}: v${i}\r\n`;
    client.send(`${chunkedPost('/first', 'X-Sum: 1\r\n')}GET /many HTTP/1.1\r\nHost: h\r\n${many}\r\n`);
    const text = await client.until((t) => (t.match(/HTTP\/1\.1 200/g) ?? []).length === 2 && t.endsWith('}'));
    const [first, second] = bodies(text);
    // Without trailer options the body still arrives whole; the trailers stay behind.
    expect(first).toMatchObject({ url: '/first', body: 'hello', trailers: {} });
    expect(second?.url).toBe('/many');
    expect(second?.rawHeaders.length).toBe(82);
    expect(second?.rawHeaders.slice(0, 4)).toEqual(['Host', 'h', 'X-H0', 'v0']);
    expect(second?.rawHeaders.at(-1)).toBe('v39');
    client.close();
  });

  it('relays a response’s trailers to the caller', async () => {
    const client = await RawClient.connect(relaying.port);
    client.send('GET /trailers HTTP/1.1\r\nHost: h\r\n\r\n');
    const text = await client.until((t) => t.endsWith('\r\n\r\n') && t.includes('\r\n0\r\n'));
    expect(text).toContain('transfer-encoding: chunked');
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toBe('5\r\npiece\r\n0\r\nx-sum: abc\r\n\r\n');
    client.close();
  });

  it('ends a response without its trailers when the pools drop them', async () => {
    const client = await RawClient.connect(dropping.port);
    client.send('GET /trailers HTTP/1.1\r\nHost: h\r\n\r\n');
    const text = await client.until((t) => t.endsWith('0\r\n\r\n'));
    expect(text.slice(text.indexOf('\r\n\r\n') + 4)).toBe('5\r\npiece\r\n0\r\n\r\n');
    client.close();
  });
});
