// A burst of concurrent creates, as agents fanning out make them: 20 sandbox workspaces created at once
// against a driver with the default warm pool (`autoWarmPool` of this host's memory ready, as `cove up` keeps), each timed from its create
// to its first successful `POST /exec` (through its address, as the gateway reaches it). Two bursts per round:
//  - first: a fresh driver whose pool holds its default size (what a new server sees);
//  - repeat: the same driver once its pool has grown to the demand it saw (what the next burst sees).
// The peer, in the same round: a bare `runc run -d` burst of the same 20 bundles (rootfs mounted, namespaces
// ready, token written, the agent started by runc alone), each timed to its first successful /exec.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { firstExec, network, openDriver, sandboxSkipReason } from '../lib/sandbox.mjs';
import { percentile, ratio } from '../lib/stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'u'.repeat(64);
const IMAGE = 'host';
const DISK_MB = 256;
let n = 0;
const spec = () => {
  n++;
  const id = `ws_bu${process.pid.toString(36)}${n.toString(36)}`.slice(0, 15).padEnd(15, '0');
  return { id, name: id, image: IMAGE, cpus: 1, memoryMb: 512, diskMb: DISK_MB };
};
const summary = (xs) => ({
  p50_ms: +percentile(xs, 50).toFixed(1),
  p90_ms: +percentile(xs, 90).toFixed(1),
  max_ms: +Math.max(...xs).toFixed(1),
  runs: xs.length,
});

/** Create, start, startAgent, public network, first /exec: what a client's create-then-exec waits for. */
async function createToExec(driver, s) {
  const t0 = performance.now();
  await driver.create(s);
  const { ip } = await driver.start(s);
  await driver.startAgent(s.id, TOKEN);
  await driver.applyNetwork(s.id, network({ publicAccess: true }));
  await firstExec(ip, TOKEN);
  return performance.now() - t0;
}

/** `burst` creates at once; resolves to each one's time to its first exec. */
async function burstOf(driver, count) {
  const specs = Array.from({ length: count }, spec);
  const times = await Promise.all(specs.map((s) => createToExec(driver, s)));
  return { specs, times };
}

function runc(driver, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(driver.runtime.binary, ['--root', driver.runtime.root, ...args], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`runc ${args[0]} exited ${code}`))));
  });
}

/** The same workspaces' bundles under bare `runc run -d`, all at once, each timed to its first exec. */
async function bareBurst(driver, specs, dir, tag) {
  const bundles = [];
  for (const [i, s] of specs.entries()) {
    const slot = driver.slotOf(s.id);
    // The workspace's container goes; its rootfs, namespaces and token stay for the bare run.
    await driver.stopAgent(s.id);
    await driver.runtime.delete(slot, true);
    const bundle = path.join(dir, `bare-${tag}-${i}`);
    await mkdir(bundle, { recursive: true });
    await writeFile(path.join(bundle, 'config.json'), await readFile(path.join(dir, 'd', 'workspaces', slot, 'config.json')));
    bundles.push({ bundle, id: `bare-${process.pid}-${tag}-${i}`, ip: driver.addressOf(s.id) });
  }
  try {
    return await Promise.all(
      bundles.map(async (b) => {
        const t0 = performance.now();
        await runc(driver, ['run', '-d', '--bundle', b.bundle, b.id]);
        await firstExec(b.ip, TOKEN);
        return performance.now() - t0;
      }),
    );
  } finally {
    for (const b of bundles) await runc(driver, ['delete', '-f', b.id]).catch(() => {});
  }
}

/** Waits until `count` pooled workspaces run (the pool grew to the demand it saw), or the time runs out. */
async function poolGrown(driver, count, timeoutMs, adopted) {
  const taken = new Set(adopted.map((s) => driver.slotOf(s.id)));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Adopted workspaces keep their pool slot's name: only the others are pooled.
    const pooled = (await driver.runtime.list()).filter((c) => c.id.startsWith('wp_') && !taken.has(c.id) && c.status === 'running').length;
    if (pooled >= count) return pooled;
    await delay(200);
  }
  return -1;
}

export default {
  name: 'sandbox-burst',
  description:
    '20 concurrent sandbox creates to first POST /exec with the default warm pool vs a bare `runc run -d` burst of the same bundles',
  async run({ smoke, tmp, log }) {
    const skip = await sandboxSkipReason();
    if (skip) return { figures: { skipped: skip }, ratios: {}, notes: `skipped: ${skip}` };
    const { autoWarmPool } = await import(pathToFileURL(path.join(root, 'packages/protocol/dist/defaults.js')).href);
    const defaultPool = autoWarmPool(totalmem());
    const count = smoke ? 4 : 20;
    const rounds = smoke ? 1 : Number(process.env.BURST_ROUNDS ?? 3);
    const first = [];
    const repeat = [];
    const bare = [];
    for (let r = 0; r < rounds; r++) {
      const dir = path.join(tmp, `r${r}`);
      const driver = await openDriver({
        tmp: path.join(dir, 'd'),
        slot: 3,
        warmPool: { size: defaultPool, image: IMAGE, diskMb: DISK_MB },
      });
      try {
        await driver.poolReady();
        const a = await burstOf(driver, count);
        first.push(...a.times);
        const grown = await poolGrown(driver, count, 300_000, a.specs);
        // The last slot made is given a moment to go idle (its agent's start-up garbage collection).
        await delay(3000);
        const b = await burstOf(driver, count);
        repeat.push(...b.times);
        bare.push(...(await bareBurst(driver, a.specs, dir, 'a')));
        const at = (xs) => `p50 ${percentile(xs, 50).toFixed(0)} / p90 ${percentile(xs, 90).toFixed(0)} ms`;
        log(
          `round ${r + 1}/${rounds}: first burst ${at(a.times)}, repeat burst ${at(b.times)} (pool grew to ${grown}), bare runc ${at(bare.slice(-count))}`,
        );
      } finally {
        await driver.destroyAll();
      }
    }
    const p = (xs, q) => percentile(xs, q);
    return {
      figures: {
        burst: count,
        default_pool: defaultPool,
        first_burst: summary(first),
        repeat_burst: summary(repeat),
        bare_runc_run_burst: summary(bare),
      },
      ratios: {
        first_p50_vs_1s: ratio(p(first, 50) / 1000, 1, 'at_most'),
        first_p90_vs_2s: ratio(p(first, 90) / 2000, 1, 'at_most'),
        first_p50_vs_bare_runc: ratio(p(first, 50) / p(bare, 50), 1, 'at_most'),
        repeat_p50_vs_bare_runc: ratio(p(repeat, 50) / p(bare, 50), 1, 'at_most'),
      },
      notes:
        `Image \`${IMAGE}\`, 1 CPU, 512 MiB, ${DISK_MB} MiB disk; ${count} creates at once, ${rounds} rounds, each on a fresh driver ` +
        `whose pool held its default ${defaultPool}. Figures are per create (create → start → startAgent → public network → ` +
        'first successful /exec). The repeat burst comes once the pool has grown to the first burst’s demand. The bare runc burst ' +
        'starts the first burst’s bundles under `runc run -d` all at once (agent cold start included, nothing pooled).',
    };
  },
};
