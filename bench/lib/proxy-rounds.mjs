// How the proxy suites (gateway, proxy) measure a proxy against nginx and against the upstream reached
// directly, on a shared machine whose own jitter is as large as what is measured.
import { readFileSync } from 'node:fs';
import { interleavedLatency } from './interleaved-latency.mjs';
import { median } from './stats.mjs';
import { wrk } from './wrk.mjs';

/** CPU time (user + system) processes have used so far, in microseconds, from /proc (clock ticks of 10 ms). */
export function cpuMicros(pids) {
  let ticks = 0;
  for (const pid of pids) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks * 10_000;
}

/**
 * Measures `targets` (`{direct, nginx, <proxy>}`, each `{url, headers, pids}`: the full URL, wrk header lines,
 * the processes whose CPU is counted).
 *
 * Added latency (the ratio's figure): one keep-alive connection per target and one request at a time, the
 * targets taking turns in short bursts (`interleaved-latency.mjs`); per cycle, each proxy's burst median minus
 * direct's, median over cycles. Turns of a few milliseconds put every target under the same load from the
 * rest of the machine; wrk runs of seconds taken one after another did not (a proxy's figure moved by half
 * between quiet runs, direct's by as much as the quantity measured where the upstream is the agent's JSON app).
 * Also, as a cross-check, 1-connection wrk rounds (every target back to back in a rotating order, each proxy's
 * p50 minus direct p50 within its round, median over rounds).
 *
 * Throughput: a few longer interleaved 64-connection wrk rounds, medians, with CPU per request of the counted
 * processes. Throws when wrk saw errors or non-2xx answers.
 */
export async function measureProxies({ targets, smoke, log }) {
  const cycles = smoke ? 5 : 400;
  const burst = smoke ? 10 : 50;
  const latencyRounds = smoke ? 1 : 10;
  const latencySeconds = smoke ? 1 : 2;
  const seconds = smoke ? 1 : 5;
  const rounds = smoke ? 1 : 3;
  const names = Object.keys(targets);
  const proxies = names.filter((n) => n !== 'direct');
  const perName = () => Object.fromEntries(names.map((n) => [n, []]));
  const lat = perName();
  const rps = perName();
  const cpu = perName();
  const added = Object.fromEntries(proxies.map((n) => [n, []]));
  let errors = 0;
  // Warm-up: connections, JIT, caches.
  for (const t of Object.values(targets)) await wrk({ url: t.url, connections: 8, threads: 1, seconds: 1, headers: t.headers });
  const bursts = await interleavedLatency(Object.fromEntries(names.map((n) => [n, { url: targets[n].url, headers: targets[n].headers }])), {
    cycles,
    burst,
  });
  const interleavedAdded = Object.fromEntries(proxies.map((n) => [n, median(bursts[n].map((us, i) => us - bursts.direct[i]))]));
  // The spread of the per-cycle differences: where a proxy's figure would move between runs.
  const spread = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    return [sorted[Math.floor(sorted.length / 4)], sorted[Math.floor((3 * sorted.length) / 4)]];
  };
  const interleavedSpread = Object.fromEntries(proxies.map((n) => [n, spread(bursts[n].map((us, i) => us - bursts.direct[i]))]));
  log(
    `interleaved: direct p50 ${median(bursts.direct).toFixed(1)} us, ${proxies.map((n) => `${n} +${interleavedAdded[n].toFixed(1)} us (IQR ${interleavedSpread[n].map((v) => v.toFixed(1)).join('..')})`).join(', ')}`,
  );
  for (let r = 0; r < latencyRounds; r++) {
    const p50 = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[(r + i) % names.length];
      const t = targets[name];
      const one = await wrk({ url: t.url, connections: 1, threads: 1, seconds: latencySeconds, headers: t.headers });
      errors += one.errors;
      p50[name] = one.p50us;
      lat[name].push(one.p50us);
    }
    for (const n of proxies) added[n].push(p50[n] - p50.direct);
    log(`latency round ${r + 1}: p50 direct ${p50.direct} us, ${proxies.map((n) => `${n} +${p50[n] - p50.direct} us`).join(', ')}`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, t] of Object.entries(targets)) {
      const cpuBefore = cpuMicros(t.pids);
      const many = await wrk({ url: t.url, connections: 64, threads: 2, seconds, headers: t.headers });
      rps[name].push(many.rps);
      cpu[name].push((cpuMicros(t.pids) - cpuBefore) / (many.rps * seconds));
      errors += many.errors;
      const cpuNote = t.pids.length > 0 ? `, ${cpu[name].at(-1).toFixed(1)} us CPU/request` : '';
      log(`round ${r + 1} ${name}: ${Math.round(many.rps)} req/s (64 conns)${cpuNote}`);
    }
  }
  if (errors > 0) throw new Error(`wrk saw ${errors} errors or non-2xx answers`);
  const medians = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
  return {
    p50: medians(lat),
    throughput: medians(rps),
    cpu: medians(cpu),
    /** The ratio's figure: interleaved bursts. */
    added: interleavedAdded,
    addedSpread: interleavedSpread,
    /** The cross-check: wrk rounds. */
    addedWrk: medians(added),
    addedPerRound: added,
    notes: [
      `added latency: ${cycles} cycles in which every target (order rotating) gets ${burst} requests back to back on its own keep-alive connection, one at a time; per cycle each proxy's burst median minus direct's, median over cycles (IQR of the per-cycle differences recorded)`,
      `added latency, wrk cross-check: ${latencyRounds} rounds of 1-connection wrk runs of ${latencySeconds}s per target (order rotating), proxy p50 minus direct p50 within each round, median over rounds`,
      `throughput: ${rounds} interleaved rounds of ${seconds}s 64-connection wrk runs, medians`,
    ],
  };
}
