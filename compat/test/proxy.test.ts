// Black-box: the official `oblien` SDK (2.4.0) reaches an app inside the workspace with rt.proxy(port), over HTTP
// and WebSocket, on each driver (see openOfficialWorkspace; on the sandbox, through the gateway). The app runs in
// the workspace: written with rt.files.write, started with rt.exec.stream, built from Node's own modules only.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeOnEachDriver } from './helpers/official-runtime.js';

const SLOT = 38;

/**
 * The app: `/echo…` answers what it received (method, url, headers, body); `/sse` three events; `/ws` a
 * WebSocket echo (RFC 6455 by hand: handshake, masked client frames up to 64 KiB, echoed unmasked with
 * their opcode; close echoed). It prints its port as one JSON line.
 */
const APP = `
const http = require('node:http');
const crypto = require('node:crypto');
const server = http.createServer((req, res) => {
  if (req.url === '/sse') {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    let n = 0;
    const tick = setInterval(() => {
      res.write('data: ' + JSON.stringify({ n: ++n }) + '\\n\\n');
      if (n === 3) { clearInterval(tick); res.end(); }
    }, 20);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'yes' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() }));
  });
});
server.on('upgrade', (req, socket) => {
  const accept = crypto.createHash('sha1').update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
  const send = (opcode, payload) => {
    const head = payload.length < 126 ? Buffer.from([0x80 | opcode, payload.length]) : Buffer.from([0x80 | opcode, 126, payload.length >> 8, payload.length & 255]);
    socket.write(Buffer.concat([head, payload]));
  };
  send(1, Buffer.from(JSON.stringify({ url: req.url, headers: req.headers })));
  let buf = Buffer.alloc(0);
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0] & 15;
      let len = buf[1] & 127;
      let off = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
      if (buf.length < off + 4 + len) return;
      const mask = buf.subarray(off, off + 4);
      const payload = Buffer.from(buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(off + 4 + len);
      if (opcode === 8) { send(8, payload); socket.end(); return; }
      send(opcode, payload);
    }
  });
  socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
`;

type Seen = { method: string; url: string; headers: Record<string, string>; body: string };

describeOnEachDriver(
  SLOT,
  (variant) => `official SDK: rt.proxy (${variant.title})`,
  (w) => {
    let port = 0;
    let taskId = '';

    beforeAll(async () => {
      await w.rt.files.write({ fullPath: `${w.workdir}/proxy-app.cjs`, content: APP });
      // The app runs as an exec task: its stdout says which port it took; the task outlives this stream.
      const stream = w.rt.exec.stream(['node', `${w.workdir}/proxy-app.cjs`]);
      let out = '';
      for await (const ev of stream as AsyncIterable<{ event: string; task_id?: string; data?: string }>) {
        if (ev.event === 'task_id') taskId = String(ev.task_id);
        if (ev.event === 'stdout') out += Buffer.from(String(ev.data), 'base64').toString();
        if (ev.event === 'exit') throw new Error(`the app exited: ${out}`);
        const line = /\{"port":(\d+)\}/.exec(out);
        if (line) {
          port = Number(line[1]);
          break;
        }
      }
    }, 60_000);

    afterAll(async () => {
      if (taskId) await w.rt.exec.kill(taskId);
    });

    it('fetch() relays method, path, query, headers and body; the token never reaches the app', async () => {
      const res = await w.rt.proxy(port).fetch('/echo/users?limit=10', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-custom': 'kept' },
        body: JSON.stringify({ name: 'ada' }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-app')).toBe('yes');
      const seen = (await res.json()) as Seen;
      expect(seen).toMatchObject({ method: 'POST', url: '/echo/users?limit=10', body: '{"name":"ada"}' });
      expect(seen.headers['x-custom']).toBe('kept');
      expect(seen.headers.authorization).toBeUndefined();
      expect(seen.headers['x-oblien-proxy-target']).toBeUndefined();
    });

    it('fetch() streams SSE through', async () => {
      const res = await w.rt.proxy(port, '127.0.0.1').fetch('/sse');
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(await res.text()).toBe('data: {"n":1}\n\ndata: {"n":2}\n\ndata: {"n":3}\n\n');
    });

    it('fetch() to the Internal API port or a closed port gets the error body', async () => {
      const own = await w.rt.proxy(9990).fetch('/health');
      expect(own.status).toBe(403);
      expect(await own.json()).toMatchObject({ success: false, code: 'forbidden' });
      const closed = await w.rt.proxy(1).fetch('/');
      expect(closed.status).toBe(502);
      expect(await closed.json()).toMatchObject({ success: false, code: 'proxy_target_unreachable' });
    });

    it('ws() opens a WebSocket to the app: text and binary frames echo; token and target are stripped', async () => {
      const ws = w.rt.proxy(port).ws('/ws?room=1');
      ws.binaryType = 'arraybuffer';
      const messages: unknown[] = [];
      const three = new Promise<void>((resolve) => {
        ws.onmessage = (e) => {
          messages.push(e.data);
          if (messages.length === 3) resolve();
        };
      });
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error('the WebSocket failed to open'));
      });
      ws.send('hello');
      ws.send(new Uint8Array([0, 1, 254, 255]));
      await three;
      const hello = JSON.parse(messages[0] as string) as { url: string; headers: Record<string, string> };
      expect(hello.url).toBe('/ws?room=1');
      expect(hello.headers.authorization).toBeUndefined();
      expect(messages[1]).toBe('hello');
      expect([...new Uint8Array(messages[2] as ArrayBuffer)]).toEqual([0, 1, 254, 255]);
      const closed = new Promise<number>((resolve) => {
        ws.onclose = (e) => resolve(e.code);
      });
      ws.close(1000, 'done');
      expect(await closed).toBe(1000);
    });
  },
);
