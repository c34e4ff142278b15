// GET /files/stream over 1,000,000 entries: the agent's RSS, sampled while a client reads the
// whole stream, stays under 150 MiB (constant memory however big the tree).
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { spawnAgent } from '../lib/agent.mjs';
import { ratio } from '../lib/stats.mjs';

/** `dirs` directories of `files` empty files (plus the directories themselves). */
async function buildTree(root, dirs, files) {
  for (let i = 0; i < dirs; i++) {
    const dir = path.join(root, `g${i % 100}`, `d${i}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: files }, (_, k) => writeFile(path.join(dir, `f${k}`), '')));
  }
}

export default {
  name: 'files-stream',
  description: 'GET /files/stream of 1,000,000 entries: agent RSS while streaming',
  async run({ smoke, tmp, log }) {
    const [dirs, files] = smoke ? [20, 50] : [4000, 250];
    const tree = path.join(tmp, 'tree');
    log(`building ${dirs * files} files`);
    await buildTree(tree, dirs, files);
    const agent = await spawnAgent({ workdir: tmp });
    try {
      const baseline = agent.rssBytes();
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, agent.rssBytes());
      }, 50);
      const started = process.hrtime.bigint();
      const { entries, bytes } = await new Promise((resolve, reject) => {
        const url = `${agent.url}/files/stream?path=${encodeURIComponent(tree)}`;
        http
          .get(url, { headers: { authorization: `Bearer ${agent.token}` } }, (res) => {
            let n = 0;
            let size = 0;
            let tail = '';
            res.setEncoding('utf8');
            res.on('data', (chunk) => {
              size += chunk.length;
              for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) n++;
              tail = (tail + chunk).slice(-200);
            });
            res.on('end', () => {
              const done = /\{"event":"done","count":(\d+)\}\n$/.exec(tail);
              if (!done) return reject(new Error(`stream did not end with done: ${tail}`));
              resolve({ entries: Number(done[1]), lines: n, bytes: size });
            });
            res.on('error', reject);
          })
          .on('error', reject);
      });
      clearInterval(sampler);
      peak = Math.max(peak, agent.rssBytes());
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const peakMiB = peak / 2 ** 20;
      log(`${entries} entries in ${seconds.toFixed(1)} s, peak RSS ${peakMiB.toFixed(1)} MiB`);
      return {
        figures: {
          entries,
          body_mib: Number((bytes / 2 ** 20).toFixed(1)),
          seconds: Number(seconds.toFixed(2)),
          entries_per_second: Math.round(entries / seconds),
          baseline_rss_mib: Number((baseline / 2 ** 20).toFixed(1)),
          peak_rss_mib: Number(peakMiB.toFixed(1)),
        },
        ratios: { peak_rss_vs_150_mib: ratio(peakMiB / 150, 1, 'at_most') },
        notes: 'RSS of the spawned agent sampled every 50 ms while one client reads the whole NDJSON body (stat per entry, not light).',
      };
    } finally {
      await agent.close();
    }
  },
};
