// Latency of several HTTP targets sampled request by request, interleaved: one keep-alive connection per target,
// one request at a time, the targets taking turns (in a rotating order). Whatever else the machine does at a
// given moment hits every target alike, so differences between targets hold steadier than between wrk runs
// taken one after another (seconds apart). The client is the same for every target, so its own cost cancels
// out of the differences.
import net from 'node:net';
import { median } from './stats.mjs';

/** One keep-alive connection sending one fixed GET and reading whole answers (Content-Length or chunked). */
class Client {
  constructor(url, headers) {
    const u = new URL(url);
    this.port = Number(u.port);
    this.host = u.hostname;
    const lines = [`GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, ...headers];
    this.request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    this.buffer = '';
    this.resolve = undefined;
  }

  async open() {
    this.socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (text) => {
      this.buffer += text;
      this.#check();
    });
    this.socket.on('error', (err) => this.reject?.(err));
    this.socket.on('close', () => this.reject?.(new Error(`connection to ${this.host}:${this.port} closed`)));
    await new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  /** Sends the request; resolves to the status once the whole answer is in. */
  send() {
    return new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.socket.write(this.request);
    });
  }

  #check() {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.slice(0, end);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let total;
    if (length) total = end + 4 + Number(length[1]);
    else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return;
      total = last + 7;
    } else throw new Error('an answer without a length');
    if (this.buffer.length < total) return;
    this.buffer = this.buffer.slice(total);
    const resolve = this.resolve;
    this.resolve = undefined;
    this.reject = undefined;
    resolve?.(status);
  }

  close() {
    this.reject = undefined;
    this.socket.destroy();
  }
}

/**
 * `targets`: `{ name: { url, headers } }`. Runs `cycles` cycles, each sending `burst` requests back to back to every
 * target in turn (the order rotating by one each cycle), after `warmup` untimed cycles. A burst keeps a target
 * as warm as a client sending one request after another keeps it (its first request, after the other targets'
 * turns, is left out), while the turns are short enough (a few ms) that the machine's load changes alike for all.
 * Returns, per target, the median latency (us) of each cycle's burst, in cycle order, so that cycles can be
 * paired. Throws on a non-2xx answer.
 */
export async function interleavedLatency(targets, { cycles, burst = 50, warmup = 20 }) {
  const names = Object.keys(targets);
  const clients = Object.fromEntries(names.map((n) => [n, new Client(targets[n].url, targets[n].headers)]));
  for (const c of Object.values(clients)) await c.open();
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  const times = new Array(burst);
  try {
    for (let cycle = 0; cycle < warmup + cycles; cycle++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(cycle + i) % names.length];
        for (let k = -1; k < burst; k++) {
          const start = process.hrtime.bigint();
          const status = await clients[name].send();
          const us = Number(process.hrtime.bigint() - start) / 1000;
          if (status < 200 || status > 299) throw new Error(`${name} answered ${status}`);
          if (k >= 0) times[k] = us;
        }
        if (cycle >= warmup) samples[name].push(median(times));
      }
    }
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
  return samples;
}
