// Small timing and statistics helpers shared by the suites.

/** @param {number[]} values @param {number} p 0..100 */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

/** Milliseconds an async function takes. @param {() => Promise<unknown>} fn */
export async function timeMs(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `fn` `runs` times (after `warmup` untimed runs) and returns the durations in ms. */
export async function sample(fn, { runs, warmup = 1 }) {
  for (let i = 0; i < warmup; i++) await fn();
  const out = [];
  for (let i = 0; i < runs; i++) out.push(await timeMs(fn));
  return out;
}

/** Median of several runs. */
export const median = (values) => percentile(values, 50);

/**
 * A ratio with its target, as recorded in results.
 * @param {number} value ours / peer
 * @param {number} target the floor
 * @param {'at_most'|'at_least'} kind
 */
export function ratio(value, target, kind) {
  const pass = kind === 'at_most' ? value <= target : value >= target;
  return { value: Number(value.toFixed(3)), target, kind, pass };
}
