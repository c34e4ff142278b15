// GET /files/search (content search) on a generated source tree, against running `rg --json`
// directly with the same flags (spawned, its whole output read), measured in the same run,
// alternating. max_results is high enough that both do the full work and print every match.
// Target: at most the time of rg itself (ratio <= 1.0), judged on the median of per-round ratios: each
// round times one rg run and one agent search back to back (order alternating), and the spread of the
// per-round ratios is recorded with them.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TEXT_FORMAT_ARGS } from '../../packages/agent/dist/search/rg-text-reader.js';
import { spawnAgent } from '../lib/agent.mjs';
import { roundRatios, spread } from '../lib/spread.mjs';
import { median, ratio, timeMs } from '../lib/stats.mjs';

const QUERY = 'handleRequest';
// The flags the agent passes for a literal, case-sensitive search (see packages/agent/src/search/rg-args.ts),
// with rg's JSON output: the peer.
const MATCH_ARGS = ['--no-config', '--no-require-git', '--case-sensitive', '--fixed-strings', '-e', QUERY, '--'];
const RG_ARGS = ['--json', ...MATCH_ARGS];
// What the agent itself runs for a directory: rg's text output with NUL separators (rg-text-reader.ts).
// Timed too, as a reference: the agent's own cost is its time minus this one.
const RG_TEXT_ARGS = [...TEXT_FORMAT_ARGS, ...MATCH_ARGS];

/**
 * A tree of `files` Go-like source files (~10 KiB each, 32 functions) spread over directories. Like real code,
 * most lines do not match: every other file has four matching lines (two functions, each named in its comment and its declaration).
 */
async function makeCorpus(root, files) {
  let matches = 0;
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `pkg${i % 40}`, `mod${i % 7}`);
    await mkdir(dir, { recursive: true });
    const lines = [`package mod${i % 7}`, '', 'import (', '\t"net/http"', '\t"strings"', ')', ''];
    for (let f = 0; f < 32; f++) {
      const hit = i % 2 === 0 && f % 16 === 0;
      const name = hit ? `${QUERY}${f}` : `serve${f}`;
      if (hit) matches += 2; // its comment and its declaration
      lines.push(`// ${name} answers one request of kind ${f} for file ${i}.`);
      lines.push(`func ${name}(w http.ResponseWriter, r *http.Request) {`);
      lines.push('\tif r.Method != http.MethodGet {');
      lines.push('\t\tw.WriteHeader(http.StatusMethodNotAllowed)');
      lines.push('\t\treturn');
      lines.push('\t}');
      lines.push(`\tname := strings.TrimPrefix(r.URL.Path, "/kind${f}/")`);
      lines.push('\tw.Header().Set("Content-Type", "application/json")');
      lines.push(`\t_, _ = w.Write([]byte(\`{"ok":true,"kind":${f},"name":"\` + name + \`"}\`))`);
      lines.push('}', '');
    }
    await writeFile(path.join(dir, `file${i}.go`), `${lines.join('\n')}\n`);
  }
  return matches;
}

/** Runs rg as the peer does: spawned, stdout read to the end. Resolves the output. */
function runRg(root, args = RG_ARGS) {
  return new Promise((resolve, reject) => {
    // In its own session, as the agent starts rg (through its spawn helper, `setsid`): with the kernel's
    // autogroup scheduling a session is a scheduling group, and on a busy machine the two would not get
    // the same share of the CPU otherwise.
    const child = spawn('rg', [...args, root], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`rg exited ${code}`));
      resolve(Buffer.concat(chunks));
    });
  });
}

const countRg = async (root) => (await runRg(root)).toString('utf8').split('{"type":"match"').length - 1;

/** One content search through the agent, body read to the end (as the peer reads rg's output). */
async function searchAgent(agent, root) {
  const q = new URLSearchParams({ q: QUERY, path: root, case_sensitive: 'true', max_results: '10000000', timeout: '60' });
  const res = await fetch(`${agent.url}/files/search?${q}`, { headers: { authorization: `Bearer ${agent.token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`agent answered ${res.status}: ${text.slice(0, 200)}`);
  return text;
}

/** The agent's total_matches, checked complete (not capped). */
async function countAgent(agent, root) {
  const body = JSON.parse(await searchAgent(agent, root));
  if (body.capped) throw new Error('the agent capped the search; the comparison needs the full work');
  return body.total_matches;
}

export default {
  name: 'search',
  description: 'GET /files/search over a generated source tree (every match returned) vs `rg --json` spawned directly',
  requires: { rg: 'ripgrep' },
  async run({ smoke, tmp, log }) {
    const files = smoke ? 150 : 3000;
    const runs = smoke ? 3 : 41;
    const root = path.join(tmp, 'corpus');
    const expected = await makeCorpus(root, files);
    log(`corpus: ${files} files, ${expected} matching lines`);
    const agent = await spawnAgent({ workdir: tmp });
    try {
      // Same answer from both before anything is timed.
      const [peerCount, ourCount] = [await countRg(root), await countAgent(agent, root)];
      if (peerCount !== expected || ourCount !== expected) {
        throw new Error(`match counts differ: expected ${expected}, rg ${peerCount}, agent ${ourCount}`);
      }
      for (let i = 0; i < 2; i++) {
        await runRg(root);
        await searchAgent(agent, root);
      }
      // Back to back in each round, the order alternating, so both see the same machine noise.
      const peer = [];
      const ours = [];
      const rgText = [];
      for (let i = 0; i < runs; i++) {
        if (i % 2 === 0) {
          peer.push(await timeMs(() => runRg(root)));
          ours.push(await timeMs(() => searchAgent(agent, root)));
        } else {
          ours.push(await timeMs(() => searchAgent(agent, root)));
          peer.push(await timeMs(() => runRg(root)));
        }
        rgText.push(await timeMs(() => runRg(root, RG_TEXT_ARGS)));
      }
      const perRound = roundRatios(ours, peer);
      const steady = spread(perRound);
      const peerMs = median(peer);
      const ourMs = median(ours);
      log(
        `rg --json ${peerMs.toFixed(1)} ms, agent ${ourMs.toFixed(1)} ms (medians of ${runs}); per-round ratio median ${steady.median} (p25 ${steady.p25}, p75 ${steady.p75})`,
      );
      return {
        figures: {
          files,
          matching_lines: expected,
          rg_json_ms_median: Number(peerMs.toFixed(2)),
          agent_search_ms_median: Number(ourMs.toFixed(2)),
          rg_text_ms_median: Number(median(rgText).toFixed(2)),
          rg_json_ms_all: peer.map((v) => Number(v.toFixed(2))),
          agent_search_ms_all: ours.map((v) => Number(v.toFixed(2))),
          ratio_rounds: perRound,
          ratio_spread: steady,
        },
        ratios: { time_vs_rg_json: ratio(steady.median, 1.0, 'at_most') },
        peer: {
          command: `rg ${RG_ARGS.join(' ')} <corpus>`,
          spawned_by: 'node:child_process spawn (detached: its own session, as the agent starts rg), stdout a pipe read to the end',
        },
        notes: `The agent runs rg with the same search flags but its text output (NUL separators; rg_text_ms_median times that command alone, as a reference), reads it as it streams, and answers one JSON body over HTTP (loopback), byte for byte what reading --json gives. ${runs} rounds, rg --json and the agent back to back in each (order alternating); the ratio is the median of the per-round ratios.`,
      };
    } finally {
      await agent.close();
    }
  },
};
