// GET /files (nested, flatten, light) on a ~50,000-entry tree against `find DIR -printf '%p\n'`
// on the same tree in the same run. Target: at most 1.2x find's time, judged on the median of
// per-round ratios: each round times one listing and one find back to back (order alternating), so
// both see the same machine load; the spread of the per-round ratios is recorded with them.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { roundRatios, spread } from '../lib/spread.mjs';
import { median, ratio, timeMs } from '../lib/stats.mjs';

/** The peer, exactly as run: `find <tree> -printf '%p\\n'` (every path, one per line, no stat needed). */
const findArgs = (dir) => [dir, '-printf', '%p\\n'];

/** 40 × 25 directories of 48 files: 48,000 files and 1,040 directories (under the 50,000 cap). */
async function buildTree(root, { top, sub, files }) {
  for (let i = 0; i < top; i++) {
    for (let j = 0; j < sub; j++) {
      const dir = path.join(root, `pkg-${i}`, `mod-${j}`);
      await mkdir(dir, { recursive: true });
      await Promise.all(Array.from({ length: files }, (_, k) => writeFile(path.join(dir, `file-${k}.ts`), '')));
    }
  }
  return top + top * sub + top * sub * files;
}

/** CPU milliseconds (user + system) from /proc/<pid>/stat: the process's own, or its waited-for children's. */
function cpuMs(pid, children = false) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const [user, system] = children ? [fields[13], fields[14]] : [fields[11], fields[12]];
  return ((Number(user) + Number(system)) * 1000) / 100; // clock ticks at USER_HZ = 100
}

/** CPU of the agent and of every process it started (the spawn helper, and the walkers the helper waited for). */
function agentTreeCpuMs(pid) {
  let total = cpuMs(pid);
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {}
  for (const child of children) {
    try {
      total += cpuMs(child) + cpuMs(child, true);
    } catch {}
  }
  return total;
}

function runFind(dir) {
  return new Promise((resolve, reject) => {
    // In its own session, as the agent starts its walker (through its spawn helper, `setsid`): with the
    // kernel's autogroup scheduling a session is a scheduling group, and on a busy machine the two would not
    // get the same share of the CPU otherwise.
    const child = spawn('find', findArgs(dir), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    let bytes = 0;
    child.stdout.on('data', (d) => {
      bytes += d.length;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(bytes) : reject(new Error(`find exited ${code}`))));
  });
}

export default {
  name: 'files-list',
  description: 'GET /files nested+flatten+light on ~50,000 entries vs find -printf',
  requires: { find: 'findutils' },
  async run({ smoke, tmp, log }) {
    const shape = smoke ? { top: 2, sub: 5, files: 20 } : { top: 40, sub: 25, files: 48 };
    const tree = path.join(tmp, 'tree');
    const entries = await buildTree(tree, shape);
    log(`tree of ${entries} entries`);
    const agent = await spawnAgent({ workdir: tmp });
    try {
      const url = `${agent.url}/files?path=${encodeURIComponent(tree)}&nested=true&flatten=true&light=true`;
      const headers = { authorization: `Bearer ${agent.token}` };
      const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let listed = 0;
      // The body is read to its end as bytes, the way find's pipe is read; parsing is the client's business.
      const ours = () =>
        new Promise((resolve, reject) => {
          http
            .get(url, { headers, agent: keepAlive }, (res) => {
              let tail = Buffer.alloc(0);
              res.on('data', (d) => {
                tail = d.length >= 100 ? d : Buffer.concat([tail, d]).subarray(-100);
              });
              res.on('end', () => {
                if (res.statusCode !== 200) return reject(new Error(`GET /files answered ${res.statusCode}`));
                listed = Number(/"count":(\d+)/.exec(tail.toString('latin1').slice(-100))?.[1]);
                resolve();
              });
              res.on('error', reject);
            })
            .on('error', reject);
        });
      const runs = smoke ? 2 : 41;
      const oursMs = [];
      const findMs = [];
      let oursCpu = 0;
      let findCpu = 0;
      for (let i = 0; i < 3; i++) {
        await ours();
        await runFind(tree);
      }
      const timeOurs = async () => {
        const cpu = agentTreeCpuMs(agent.pid);
        oursMs.push(await timeMs(ours));
        oursCpu += agentTreeCpuMs(agent.pid) - cpu;
      };
      const timeFind = async () => {
        const cpu = cpuMs(process.pid, true);
        findMs.push(await timeMs(() => runFind(tree)));
        findCpu += cpuMs(process.pid, true) - cpu;
      };
      for (let i = 0; i < runs; i++) {
        // Back to back, the order alternating between rounds.
        if (i % 2 === 0) {
          await timeOurs();
          await timeFind();
        } else {
          await timeFind();
          await timeOurs();
        }
      }
      keepAlive.destroy();
      if (listed !== entries) throw new Error(`listed ${listed} entries, expected ${entries}`);
      const perRound = roundRatios(oursMs, findMs);
      const steady = spread(perRound);
      const cove = median(oursMs);
      const find = median(findMs);
      log(
        `cove ${cove.toFixed(1)} ms, find ${find.toFixed(1)} ms; per-round ratio median ${steady.median} (p25 ${steady.p25}, p75 ${steady.p75}); CPU per run cove ${(oursCpu / runs).toFixed(1)} ms, find ${(findCpu / runs).toFixed(1)} ms`,
      );
      return {
        figures: {
          entries: listed,
          cove_median_ms: Number(cove.toFixed(2)),
          find_median_ms: Number(find.toFixed(2)),
          // Mean CPU (user + system) per run: the agent and the processes it started (the native walker), and find.
          cove_cpu_ms: Number((oursCpu / runs).toFixed(1)),
          find_cpu_ms: Number((findCpu / runs).toFixed(1)),
          cove_runs_ms: oursMs.map((v) => Number(v.toFixed(1))),
          find_runs_ms: findMs.map((v) => Number(v.toFixed(1))),
          ratio_rounds: perRound,
          ratio_spread: steady,
        },
        ratios: { cove_vs_find_time: ratio(steady.median, 1.2, 'at_most') },
        peer: {
          command: `find <tree> -printf '%p\\n'`,
          spawned_by: 'node:child_process spawn (detached: its own session, as the agent starts its walker), stdout a pipe read to the end',
        },
        notes: `Time to the last byte of the body over loopback HTTP (node:http, keep-alive, read as bytes); find is spawned and its pipe read to the end. ${runs} rounds, ours and find back to back in each (order alternating); the ratio is the median of the per-round ratios. CPU per run is the mean (10 ms clock ticks).`,
      };
    } finally {
      await agent.close();
    }
  },
};
