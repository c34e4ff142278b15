import http from 'node:http';
import type { Socket } from 'node:net';

export interface UpgradeAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The tunnel when the upgrade succeeded (101); the caller destroys it. */
  socket?: Socket;
}

/** Sends a raw WebSocket upgrade request and reports the answer, whatever it is. */
export function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket: Socket) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', socket }));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
