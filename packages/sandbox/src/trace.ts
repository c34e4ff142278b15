// Timing spans of the driver's steps, kept only when COVE_SANDBOX_TRACE is set (or `setTracing(true)`): how a
// create spends its wall time (bench/results/sandbox-start.md). Off, a span is the call itself.
import { performance } from 'node:perf_hooks';

export interface Span {
  name: string;
  /** performance.now() at its start. */
  start: number;
  ms: number;
}

let enabled = Boolean(process.env.COVE_SANDBOX_TRACE);
let recorded: Span[] = [];

export function traceEnabled(): boolean {
  return enabled;
}

/** Turns the spans on or off (benchmarks: a breakdown after the timed runs). */
export function setTracing(on: boolean): void {
  enabled = on;
}

/** Times `fn` under `name` (when tracing). */
export async function span<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const start = performance.now();
  try {
    return await fn();
  } finally {
    recorded.push({ name, start, ms: performance.now() - start });
  }
}

/** The spans recorded since the last call (and forgets them). */
export function takeSpans(): Span[] {
  const out = recorded;
  recorded = [];
  return out;
}

/** Records a span that started at `start` (performance.now()) and ends now. */
export function recordSpan(name: string, start: number): void {
  if (enabled) recorded.push({ name, start, ms: performance.now() - start });
}
