// How the proxy suites (gateway, proxy) measure a proxy against nginx and against the upstream reached
// directly, on a shared machine whose own jitter is as large as what is measured.
import { readFileSync } from 'node:fs';
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
 * the processes whose CPU is counted). Added latency: many short 1-connection rounds timing every target back
 * to back in a rotating order, each proxy's p50 minus direct p50 within its round, median over rounds.
 * Throughput: a few longer interleaved 64-connection rounds, medians, with CPU per request of the counted
 * processes. Throws when wrk saw errors or non-2xx answers.
 */
export async function measureProxies({ targets, smoke, log }) {
  const latencyRounds = smoke ? 1 : 20;
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
    added: medians(added),
    addedPerRound: added,
    notes: [
      `added latency: ${latencyRounds} rounds of 1-connection wrk runs of ${latencySeconds}s per target (order rotating), proxy p50 minus direct p50 within each round, median over rounds`,
      `throughput: ${rounds} interleaved rounds of ${seconds}s 64-connection wrk runs, medians`,
    ],
  };
}
