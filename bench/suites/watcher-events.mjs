// File watcher events over /ws against `inotifywait -m -r` (inotify-tools) watching the same tree at
// the same time: (1) latency from a write to its `change` event, p50 at most 60 ms with the 50 ms
// debounce included; (2) a burst of 10,000 new files must give 10,000 `create` events or an
// `overflow` — never a silent loss — and we count how many each side delivered and how fast.
import { spawn } from 'node:child_process';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { spawnAgent } from '../lib/agent.mjs';
import { percentile, ratio } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `inotifywait -m -r` printing `<path> <EVENTS>` lines; resolves once its watches are set. */
function startInotifywait(dir, onLine) {
  return new Promise((resolve, reject) => {
    const child = spawn('inotifywait', ['-m', '-r', '-q', '-e', 'create,modify,delete,move', '--format', '%w%f %e', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      const now = performance.now();
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) onLine(line, now);
    });
    child.on('error', reject);
    // With -q it prints nothing when ready; a probe file tells when events flow.
    const probe = path.join(dir, '.probe');
    let ready = false;
    const check = setInterval(() => writeFile(probe, '').catch(() => {}), 50);
    const original = onLine;
    onLine = (line, now) => {
      if (!ready && line.startsWith(probe)) {
        ready = true;
        clearInterval(check);
        resolve(child);
        return;
      }
      if (ready) original(line, now);
    };
  });
}

/** Opens /ws and hands every watcher event to `onEvent` with its arrival time. */
function openEvents(agent, onEvent) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${agent.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${agent.token}` } });
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const now = performance.now();
      const event = JSON.parse(data.toString('utf8'));
      if (event.channel === 'watcher') onEvent(event, now);
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Waits until `done()` holds or nothing new arrived for `quietMs` (then whatever was counted stands). */
async function settle(done, progress, quietMs = 3000, capMs = 120_000) {
  const start = performance.now();
  let last = progress();
  let lastChange = performance.now();
  while (!done() && performance.now() - start < capMs) {
    await sleep(20);
    const now = progress();
    if (now !== last) {
      last = now;
      lastChange = performance.now();
    } else if (performance.now() - lastChange > quietMs) break;
  }
}

export default {
  name: 'watcher-events',
  description: 'watcher change latency and a 10,000-file burst over /ws vs inotifywait -m -r',
  requires: { inotifywait: 'inotify-tools' },
  async run({ smoke, tmp, log }) {
    const tree = path.join(tmp, 'tree');
    for (const dir of ['src/a', 'src/b', 'burst']) await mkdir(path.join(tree, dir), { recursive: true });
    const agent = await spawnAgent({ workdir: tmp });
    const ours = new Map(); // path -> [{op, at}]
    let overflows = 0;
    const theirs = new Map(); // path -> [{events, at}]
    let theirOverflows = 0;
    const socket = await openEvents(agent, (event, at) => {
      if (event.type === 'overflow') overflows++;
      if (event.type !== 'change') return;
      const list = ours.get(event.path) ?? [];
      list.push({ op: event.op, at });
      ours.set(event.path, list);
    });
    const peer = await startInotifywait(tree, (line, at) => {
      const space = line.lastIndexOf(' ');
      const file = line.slice(0, space);
      const events = line.slice(space + 1);
      if (events.includes('Q_OVERFLOW')) theirOverflows++;
      const list = theirs.get(file) ?? [];
      list.push({ events, at });
      theirs.set(file, list);
    });
    try {
      const res = await fetch(`${agent.url}/watchers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${agent.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ path: tree }),
      });
      if (res.status !== 200) throw new Error(`POST /watchers answered ${res.status}`);

      // 1. Latency: one write at a time, each to its own file, both watchers listening.
      const samples = smoke ? 5 : 60;
      const oursMs = [];
      const theirsMs = [];
      for (let i = 0; i < samples; i++) {
        const file = path.join(tree, 'src', i % 2 ? 'a' : 'b', `f${i}.txt`);
        await writeFile(file, 'x');
        await sleep(120); // the create's window closes before the timed write
        ours.delete(file);
        theirs.delete(file);
        const t0 = performance.now();
        await appendFile(file, 'y');
        await settle(
          () => ours.get(file)?.some((e) => e.op === 'write') && theirs.get(file)?.some((e) => e.events.includes('MODIFY')),
          () => 0,
          5000,
          5000,
        );
        const mine = ours.get(file)?.find((e) => e.op === 'write');
        const peerEvent = theirs.get(file)?.find((e) => e.events.includes('MODIFY'));
        if (!mine || !peerEvent) throw new Error(`no write event for ${file} (ours ${!!mine}, inotifywait ${!!peerEvent})`);
        oursMs.push(mine.at - t0);
        theirsMs.push(peerEvent.at - t0);
      }
      const p50 = percentile(oursMs, 50);
      const peerP50 = percentile(theirsMs, 50);
      log(`latency p50 ${p50.toFixed(1)} ms (inotifywait ${peerP50.toFixed(1)} ms)`);

      // 2. Burst: N files made as fast as a separate process can.
      const count = smoke ? 300 : 10_000;
      const burst = path.join(tree, 'burst');
      const inBurst = (map) => [...map.keys()].filter((p) => p.startsWith(`${burst}/`));
      const t0 = performance.now();
      const maker = spawn(
        process.execPath,
        ['-e', `const fs=require('fs');for(let i=0;i<${count};i++)fs.closeSync(fs.openSync(${JSON.stringify(burst)}+'/n'+i,'w'))`],
        { stdio: 'inherit' },
      );
      await new Promise((resolve) => maker.on('exit', resolve));
      const madeMs = performance.now() - t0;
      await settle(
        () => (inBurst(ours).length >= count || overflows > 0) && (inBurst(theirs).length >= count || theirOverflows > 0),
        () => ours.size + theirs.size + overflows + theirOverflows,
      );
      const lastAt = (map) => Math.max(...inBurst(map).map((p) => (map.get(p) ?? []).at(-1)?.at ?? 0));
      const ourCreates = inBurst(ours).filter((p) => ours.get(p)?.some((e) => e.op === 'create')).length;
      const theirCreates = inBurst(theirs).filter((p) => theirs.get(p)?.some((e) => e.events.includes('CREATE'))).length;
      const ourDoneMs = lastAt(ours) - t0;
      const theirDoneMs = lastAt(theirs) - t0;
      const accounted = ourCreates === count || overflows > 0;
      log(
        `burst: ${ourCreates}/${count} creates, ${overflows} overflow(s) in ${ourDoneMs.toFixed(0)} ms; inotifywait ${theirCreates} in ${theirDoneMs.toFixed(0)} ms`,
      );
      if (!accounted) throw new Error(`silent loss: ${ourCreates} of ${count} creates and no overflow`);

      return {
        figures: {
          latency_samples: samples,
          cove_latency_p50_ms: Number(p50.toFixed(2)),
          cove_latency_p90_ms: Number(percentile(oursMs, 90).toFixed(2)),
          inotifywait_latency_p50_ms: Number(peerP50.toFixed(2)),
          inotifywait_latency_p90_ms: Number(percentile(theirsMs, 90).toFixed(2)),
          burst_files: count,
          burst_made_ms: Number(madeMs.toFixed(1)),
          cove_burst_creates: ourCreates,
          cove_burst_overflows: overflows,
          cove_burst_last_event_ms: Number(ourDoneMs.toFixed(1)),
          inotifywait_burst_creates: theirCreates,
          inotifywait_burst_overflows: theirOverflows,
          inotifywait_burst_last_event_ms: Number(theirDoneMs.toFixed(1)),
        },
        ratios: {
          // The floor: p50 at most 60 ms, the mandated 50 ms debounce included.
          latency_p50_vs_60ms: ratio(p50 / 60, 1, 'at_most'),
          // Every file of the burst is accounted for: a create each, or an overflow said so.
          burst_accounted: ratio(accounted ? 1 : 0, 1, 'at_least'),
          // Our creates delivered vs inotifywait's (1 = as many).
          burst_creates_vs_inotifywait: ratio(ourCreates / Math.max(1, theirCreates), 1, 'at_least'),
          // Time to the burst's last event; ours includes the 50 ms debounce and JSON over WebSocket.
          burst_last_event_vs_inotifywait: ratio(ourDoneMs / Math.max(1, theirDoneMs), 1.5, 'at_most'),
        },
        notes:
          'Both watchers see the same writes in the same run. Latency is from the write call returning to the event arriving at the client (WebSocket for Cove, a pipe for inotifywait); Cove holds each path 50 ms by design (reference debounce). The burst is 10,000 empty files made by one process in one watched directory.',
      };
    } finally {
      socket.terminate();
      peer.kill('SIGTERM');
      await agent.close();
    }
  },
};
