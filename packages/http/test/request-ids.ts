import http from 'node:http';

/** Ids a server must echo as they are: 1–128 visible ASCII characters. */
export const VALID_IDS = ['abc-123', 'x', 'A'.repeat(128), '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'];

/** Ids a server must replace: too long, empty, with a space, a tab (a control character), non-ASCII. */
export const INVALID_IDS = ['A'.repeat(129), '', 'has space', 'tab\there', 'café', 'naïve-✓'];

/** A random UUID, as servers make them. */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export interface IdAnswer {
  status: number;
  /** Every `x-request-id` of the answer (exactly one is expected). */
  ids: string[];
  body: string;
}

function idsOf(rawHeaders: string[]): string[] {
  const ids: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === 'x-request-id') ids.push(rawHeaders[i + 1] as string);
  return ids;
}

/**
 * A request through node:http (which, unlike fetch, sends a header value byte
 * for byte, non-ASCII included); `id` undefined sends no `x-request-id`.
 */
export function requestWithId(
  url: string,
  id: string | undefined,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<IdAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (id !== undefined) headers['x-request-id'] = Buffer.from(id, 'utf8').toString('latin1');
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ids: idsOf(res.rawHeaders), body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A WebSocket upgrade that is refused (or accepted): the answer's status and ids. */
export function upgradeWithId(url: string, id: string | undefined, headers: Record<string, string> = {}): Promise<IdAnswer> {
  const all: Record<string, string> = {
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-version': '13',
    'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...headers,
  };
  if (id !== undefined) all['x-request-id'] = id;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers: all, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, ids: idsOf(res.rawHeaders), body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ids: idsOf(res.rawHeaders), body }));
    });
    req.on('error', reject);
    req.end();
  });
}
