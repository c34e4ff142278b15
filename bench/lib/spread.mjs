// How steady a suite's rounds were: each round compares ours with the peer's measured next to it, and the
// spread of those per-round ratios says whether the median can judge anything. A ratio whose rounds spread
// wide (relative half-IQR above ~10%) needs more rounds or a steadier measure, whatever its median says.
import { median as medianOf, percentile } from './stats.mjs';

const round3 = (v) => Number(v.toFixed(3));

/** Min, quartiles, median and max of several rounds, and the half-IQR relative to the median (in %). */
export function spread(values) {
  const p25 = percentile(values, 25);
  const median = percentile(values, 50);
  const p75 = percentile(values, 75);
  return {
    rounds: values.length,
    min: round3(Math.min(...values)),
    p25: round3(p25),
    median: round3(median),
    p75: round3(p75),
    max: round3(Math.max(...values)),
    half_iqr_pct: median === 0 ? 0 : Number(((100 * (p75 - p25)) / 2 / median).toFixed(1)),
  };
}

/**
 * ours / peer for CPU times, 0 when the peer's is 0: a run too short for the clock's ticks (a smoke run) has nothing
 * to compare, and a ratio must stay a finite number.
 */
export const cpuRatio = (ours, peer) => (peer > 0 ? ours / peer : 0);

/** Per-round ratios ours[i] / peer[i]. */
export const roundRatios = (ours, peer) => ours.map((v, i) => round3(v / peer[i]));

/**
 * Per-round values as a suite records them: each round, their median, min and max, and their spread
 * ((max - min) / median; 0 when the median is 0, as for a CPU time too small to measure in a smoke run).
 */
export function roundFigures(values, digits = 3) {
  const fixed = (x, d = digits) => Number(x.toFixed(d));
  const median = medianOf(values);
  const max = Math.max(...values);
  const min = Math.min(...values);
  return {
    per_round: values.map((x) => fixed(x)),
    median: fixed(median),
    min: fixed(min),
    max: fixed(max),
    spread: median === 0 ? 0 : fixed((max - min) / median, 3),
  };
}
