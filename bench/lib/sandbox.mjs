// Shared by the sandbox suites: a driver of the built @cove/sandbox on its own subnet and table.
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Why the sandbox suites cannot run here, or undefined. */
export async function sandboxSkipReason() {
  const dist = path.join(root, 'packages/sandbox/dist/index.js');
  if (!existsSync(dist)) return 'the sandbox driver is not built (npx tsc -b packages/cli)';
  const { sandboxSupport } = await import(pathToFileURL(dist).href);
  const support = sandboxSupport();
  return support.ok ? undefined : support.reasons.join('; ');
}

export async function openDriver({ tmp, slot, warmPool }) {
  const { SandboxDriver } = await import(pathToFileURL(path.join(root, 'packages/sandbox/dist/index.js')).href);
  const pino = (await import(pathToFileURL(path.join(root, 'node_modules/pino/pino.js')).href)).default;
  return SandboxDriver.open({
    dataDir: tmp,
    imagesDir: process.env.COVE_SANDBOX_IMAGES ?? '/var/cache/cove/images',
    subnet: `10.86.${slot}.0/24`,
    nftTable: `cove_bench${slot}`,
    cgroupParent: `cove-bench${slot}`,
    stopTimeoutMs: 2000,
    log: pino({ level: 'silent' }),
    // A test run's claim on its subnet ends with it: a crashed run cannot refuse the next one.
    ephemeralNetwork: true,
    ...(warmPool ? { warmPool } : {}),
  });
}

/** One POST /exec {"cmd":["true"]}; resolves true on a 200 with exit code 0, false on a refused/failed connection. */
export function execOnce(ip, token) {
  const body = JSON.stringify({ cmd: ['true'] });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: ip,
        port: 9990,
        path: '/exec',
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('"exit_code":0')));
      },
    );
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

/** Retries POST /exec until it succeeds (the agent may still be starting). */
export async function firstExec(ip, token, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await execOnce(ip, token)) return;
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(`no successful /exec on ${ip} within ${timeoutMs} ms`);
}

export const network = (o = {}) => ({
  publicAccess: false,
  allowInternet: true,
  privateLinkIds: [],
  ingressPorts: [],
  egress: [],
  privateLinks: [],
  ...o,
});

/** Waits until the driver's pool of containers for forks has one ready (untimed: a server's refills run between forks). */
export async function forkPoolReady(driver, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (!driver.poolSizes().some((p) => p.forks && p.ready > 0)) {
    if (Date.now() > deadline) throw new Error('no pooled container for forks');
    await new Promise((r) => setTimeout(r, 20));
  }
}
