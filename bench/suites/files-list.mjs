// GET /files (nested, flatten, light) on a ~50,000-entry tree against `find DIR -printf '%p\n'`
// on the same tree in the same run. Target: at most 2x find's time (median of several runs).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { median, ratio, sample } from '../lib/stats.mjs';

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

function runFind(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn('find', [dir, '-printf', '%p\\n'], { stdio: ['ignore', 'pipe', 'inherit'] });
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
      let listed = 0;
      const ours = async () => {
        const res = await fetch(url, { headers });
        // Read to the end like find's pipe; parsing is the client's business, not the server's.
        const text = await res.text();
        if (res.status !== 200) throw new Error(`GET /files answered ${res.status}`);
        listed = Number(/"count":(\d+)/.exec(text.slice(-100))?.[1]);
      };
      const runs = smoke ? 2 : 15;
      // Interleaved, so both see the same machine load.
      const oursMs = [];
      const findMs = [];
      let oursCpu = 0;
      let findCpu = 0;
      await ours();
      await runFind(tree);
      for (let i = 0; i < runs; i++) {
        let cpu = cpuMs(agent.pid);
        oursMs.push(...(await sample(ours, { runs: 1, warmup: 0 })));
        oursCpu += cpuMs(agent.pid) - cpu;
        cpu = cpuMs(process.pid, true);
        findMs.push(...(await sample(() => runFind(tree), { runs: 1, warmup: 0 })));
        findCpu += cpuMs(process.pid, true) - cpu;
      }
      if (listed !== entries) throw new Error(`listed ${listed} entries, expected ${entries}`);
      const cove = median(oursMs);
      const find = median(findMs);
      log(
        `cove ${cove.toFixed(1)} ms, find ${find.toFixed(1)} ms; CPU per run cove ${(oursCpu / runs).toFixed(1)} ms, find ${(findCpu / runs).toFixed(1)} ms`,
      );
      return {
        figures: {
          entries: listed,
          cove_median_ms: Number(cove.toFixed(2)),
          find_median_ms: Number(find.toFixed(2)),
          // Mean CPU (user + system) per run: the agent process, and find as a waited-for child.
          cove_cpu_ms: Number((oursCpu / runs).toFixed(1)),
          find_cpu_ms: Number((findCpu / runs).toFixed(1)),
          cove_runs_ms: oursMs.map((v) => Number(v.toFixed(1))),
          find_runs_ms: findMs.map((v) => Number(v.toFixed(1))),
        },
        ratios: { cove_vs_find_time: ratio(cove / find, 2, 'at_most') },
        notes:
          'Time to the last byte of the body over loopback HTTP; find writes to a pipe that is read to the end. CPU per run is the mean (10 ms clock ticks).',
      };
    } finally {
      await agent.close();
    }
  },
};
