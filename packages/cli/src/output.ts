/**
 * Output for people and for scripts: colour only on a terminal without
 * NO_COLOR, aligned tables, JSON on request, and a spinner and progress bar
 * that draw on stderr only when it is a terminal (so pipes stay clean).
 */

type Stream = NodeJS.WriteStream;

/** Whether to colour what goes to `stream`: a terminal, NO_COLOR unset, TERM not dumb (FORCE_COLOR wins). */
export function colorEnabled(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof CODES;

/** Styles text for `stream` (plain when colour is off). */
export function paint(text: string, style: Style, stream: Stream = process.stdout): string {
  if (!colorEnabled(stream)) return text;
  const [on, off] = CODES[style];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string) => text.replace(ANSI, '').length;

/** Writes one JSON document (scripts parse stdout). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** An aligned table with a bold header; cells may already be coloured. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat((widths[i] ?? 0) - width(c))))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${line(headers.map((h) => paint(h, 'bold')))}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
}

/** `key: value` lines, keys aligned. */
export function printFields(fields: ReadonlyArray<readonly [string, unknown]>): void {
  const pad = Math.max(0, ...fields.map(([k]) => k.length));
  for (const [key, value] of fields) {
    if (value === undefined) continue;
    const text = value === null ? '-' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    process.stdout.write(`${paint(`${key}:`.padEnd(pad + 1), 'dim')} ${text}\n`);
  }
}

/** `1.5 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

const interactive = (quiet: boolean) => !quiet && process.stderr.isTTY === true;

export interface Spinner {
  /** Stops and clears the line. */
  stop(): void;
}

/** A spinner on stderr while `text` is in progress (nothing when stderr is not a terminal or `quiet`). */
export function spinner(text: string, quiet = false): Spinner {
  if (!interactive(quiet)) return { stop() {} };
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const draw = () => process.stderr.write(`\r${paint(frames[i++ % frames.length] ?? '', 'cyan', process.stderr)} ${text}\u001b[K`);
  draw();
  const timer = setInterval(draw, 80);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      process.stderr.write('\r\u001b[K');
    },
  };
}

/** Runs `work` under a spinner. */
export async function withSpinner<T>(text: string, quiet: boolean, work: () => Promise<T>): Promise<T> {
  const s = spinner(text, quiet);
  try {
    return await work();
  } finally {
    s.stop();
  }
}

export interface Progress {
  /** Adds transferred bytes. */
  add(bytes: number): void;
  /** Clears the bar. */
  done(): void;
}

/** Shown only past this size (or, when the size is unknown, once this much has gone by). */
const LARGE = 1024 * 1024;

/**
 * A progress bar on stderr for a transfer of `total` bytes (undefined when
 * unknown: then bytes and rate only). Drawn at most every 100 ms, and only
 * for large transfers on a terminal.
 */
export function progress(label: string, total: number | undefined, quiet = false): Progress {
  if (!interactive(quiet) || (total !== undefined && total < LARGE)) return { add() {}, done() {} };
  let done = 0;
  let drawn = false;
  let last = 0;
  const started = Date.now();
  const draw = () => {
    const elapsed = Math.max(0.001, (Date.now() - started) / 1000);
    const rate = `${formatBytes(done / elapsed)}/s`;
    const cols = process.stderr.columns ?? 80;
    let line: string;
    if (total !== undefined && total > 0) {
      const ratio = Math.min(1, done / total);
      const tail = ` ${String(Math.floor(ratio * 100)).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${rate}`;
      const barWidth = Math.max(10, Math.min(40, cols - label.length - tail.length - 4));
      const filled = Math.round(ratio * barWidth);
      line = `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail}`;
    } else {
      line = `${label} ${formatBytes(done)} ${rate}`;
    }
    process.stderr.write(`\r${line.slice(0, cols - 1)}\u001b[K`);
    drawn = true;
  };
  return {
    add(bytes) {
      done += bytes;
      const now = Date.now();
      if (total === undefined && done < LARGE) return;
      if (now - last >= 100) {
        last = now;
        draw();
      }
    },
    done() {
      if (drawn) process.stderr.write('\r\u001b[K');
    },
  };
}
