// The SDK in a real browser: headless Chromium (Debian's package) driven by playwright-core,
// calling the gateway from another origin (CORS) — files, an exec stream and a terminal over rt.ws().
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createGateway, type Gateway } from '@cove/gateway';
import { build } from 'esbuild';
import pino from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../api/test/helpers/control-plane.js';

const CHROMIUM = process.env.COVE_CHROMIUM ?? '/usr/bin/chromium';

let t: TestControlPlane;
let gateway: Gateway;
let gatewayURL: string;
let site: Server;
let siteURL: string;
let browser: Browser;

beforeAll(async () => {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('../src/index.ts', import.meta.url))],
    bundle: true,
    // A classic script with a global: page.evaluate's code is rewritten by the test runner, so it cannot import().
    format: 'iife',
    globalName: 'CoveSDK',
    platform: 'browser',
    target: 'es2022',
    external: ['ws'],
    write: false,
  });
  const sdk = bundle.outputFiles[0]?.text ?? '';
  site = createServer((req, res) => {
    if (req.url === '/sdk.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(sdk);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>cove</title>');
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  siteURL = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

  t = await startTestControlPlane();
  gateway = createGateway({
    routes: t.store,
    secret: t.cp.context.jwtSecret,
    routeCacheMs: 0,
    allowedOrigins: [siteURL],
    logger: pino({ level: 'silent' }),
  });
  gatewayURL = await gateway.listen('127.0.0.1', 0);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await t?.close();
  site?.closeAllConnections();
  await new Promise((resolve) => site?.close(resolve));
});

describe('the SDK in a browser', () => {
  it('reads and writes files, streams a command and drives a terminal over rt.ws()', { timeout: 60_000 }, async () => {
    const id = await t.createWorkspace({ name: 'browser' });
    const enabled = await t.json('POST', `/workspace/${id}/internal-api-access/enable`);
    await t.json('POST', `/workspace/${id}/network`, { body: { public_access: true } });
    const page = await browser.newPage();
    await page.goto(siteURL);
    await page.addScriptTag({ url: '/sdk.js' });

    const result = await page.evaluate(
      async ({ baseURL, token }) => {
        const { Runtime } = (globalThis as unknown as { CoveSDK: typeof import('../src/index.js') }).CoveSDK;
        const rt = new Runtime({ baseURL, token });
        await rt.files.write({ fullPath: 'from-browser.txt', content: 'hello from chromium' });
        const read = await rt.files.read({ filePath: 'from-browser.txt' });

        let streamed = '';
        let exitCode = -1;
        for await (const ev of rt.exec.stream(['sh', '-c', 'echo streamed; exit 7'])) {
          if (ev.event === 'stdout') streamed += atob(ev.data);
          if (ev.event === 'exit') exitCode = ev.exit_code;
        }

        const term = await rt.terminal.create({ shell: '/bin/sh' });
        const ws = rt.ws({ reconnect: false });
        let screen = '';
        const seen = new Promise<void>((resolve) => {
          ws.onTerminalOutput((tid: string, data: Uint8Array) => {
            if (tid !== term.id) return;
            screen += new TextDecoder().decode(data);
            if (screen.includes('browser-42')) resolve();
          });
        });
        await ws.connect();
        ws.writeTerminalInput(term.id, 'echo browser-$((40+2))\n');
        await seen;
        ws.close();
        return { content: read.content, streamed, exitCode, sawTerminal: screen.includes('browser-42') };
      },
      { baseURL: gatewayURL, token: enabled.body.token as string },
    );

    expect(result).toEqual({ content: 'hello from chromium', streamed: 'streamed\n', exitCode: 7, sawTerminal: true });
    await page.close();
  });
});
