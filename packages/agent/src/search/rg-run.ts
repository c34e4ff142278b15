import { AppError, badParam } from '@cove/protocol';
import { nodeSpawner, type SpawnedProcess, type Spawner } from '../exec/spawner.js';
import { MatchCollector } from './match-collector.js';
import { buildRgArgs, type ContentSearch, type RgOutput } from './rg-args.js';
import { RgJsonReader } from './rg-json-reader.js';
import { RgTextReader } from './rg-text-reader.js';

export interface RunOptions {
  /** Characters of returned text at most (matches and context). */
  maxTextChars: number;
  /** Aborts the search (the client went away, the agent is closing). */
  signal?: AbortSignal;
  /** Called with rg's pid once it runs (tests use it to check rg is gone). */
  onSpawn?: (pid: number) => void;
  /** Called when rg is gone: its exit code, or the signal that stopped it. */
  onExit?: (pid: number, code: number | null, signal: NodeJS.Signals | null) => void;
  /** Starts rg (default: from the agent itself, with child_process). */
  spawner?: Spawner;
  /** rg's output to read (default `json`; see rgOutputFor). */
  output?: RgOutput;
  /** The answer's bytes before `results` (see MatchCollector.body()). */
  head?: Buffer;
}

export interface RunResult {
  collector: MatchCollector;
  /** rg's exit code when the answer waited for it, null when rg was stopped or its final summary was enough. */
  exitCode: number | null;
  skippedLines: number;
  /** The output that was read (`json` after a text output that could not be read with certainty). */
  output: RgOutput;
}

const STDERR_KEEP = 16 * 1024;

let cachedEnv: NodeJS.ProcessEnv | null = null;
/**
 * rg reads no configuration (`--no-config`); of the environment it only
 * needs what locates the user's global git excludes. A small environment
 * also makes each spawn cheaper.
 */
function rgEnv(): NodeJS.ProcessEnv {
  if (cachedEnv === null) {
    cachedEnv = {};
    for (const name of ['HOME', 'XDG_CONFIG_HOME', 'PATH']) {
      const value = process.env[name];
      if (value !== undefined) cachedEnv[name] = value;
    }
  }
  return cachedEnv;
}

/**
 * Runs ripgrep for a search, reading its output as it streams. rg is
 * killed (SIGKILL: it holds no state worth a graceful exit) as soon as the
 * collector has what it needs, on timeout, or on abort. Rejects with an
 * AppError: 504 `search_timeout`, or 400 for a pattern or glob rg refuses.
 * A text output the reader cannot read with certainty (file names made to
 * look like rg's messages) is dropped and the search runs again with `--json`,
 * within the same timeout.
 *
 * rg is started by `options.spawner` (the search domain passes the spawn
 * helper: fork() from the agent costs several milliseconds of the agent's
 * main thread, growing with its memory, before rg even starts).
 */
export async function runRipgrep(rgPath: string, search: ContentSearch, options: RunOptions): Promise<RunResult> {
  const output = options.output ?? 'json';
  if (output === 'json') return runOnce(rgPath, search, options, 'json');
  const started = Date.now();
  const first = await runOnce(rgPath, search, options, 'text');
  if (!first.ambiguous) return first;
  const timeoutMs = Math.max(1, search.timeoutMs - (Date.now() - started));
  return runOnce(rgPath, { ...search, timeoutMs }, options, 'json', search.timeoutMs);
}

async function runOnce(
  rgPath: string,
  search: ContentSearch,
  options: RunOptions,
  output: RgOutput,
  reportedTimeoutMs = search.timeoutMs,
): Promise<RunResult & { ambiguous: boolean }> {
  const collector = new MatchCollector({
    maxResults: search.maxResults,
    contextLines: search.contextLines,
    maxTextChars: options.maxTextChars,
    ...(options.head ? { head: options.head } : {}),
  });
  const reader = output === 'text' ? new RgTextReader(collector, search.root) : new RgJsonReader(collector, search.root, search.rootIsDir);
  if (options.signal?.aborted) throw new AppError('bad_request', 'search aborted');

  let child: SpawnedProcess;
  try {
    child = await (options.spawner ?? nodeSpawner).spawn({ file: rgPath, args: buildRgArgs(search, output), cwd: '/', env: rgEnv() });
  } catch (err) {
    throw new AppError('ripgrep_not_installed', `ripgrep could not be started: ${(err as Error).message}`);
  }
  // rg is given a path: it never reads its standard input.
  child.stdin.destroy();
  const pid = child.pid;
  const { stdout } = child;

  return new Promise((resolve, reject) => {
    let stopped = false;
    let timedOut = false;
    let aborted = false;
    let stderr = '';
    // Settles once rg has exited and both of its outputs are closed (no output is lost), or earlier
    // once rg's output ends with its summary.
    let waiting = 3;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;

    const makeResult = (code: number | null) => ({
      collector,
      exitCode: code,
      skippedLines: reader.skippedLines,
      output,
      ambiguous: reader instanceof RgTextReader && reader.ambiguous,
    });
    const stop = () => {
      if (stopped) return;
      stopped = true;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      stdout.destroy();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, search.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();

    options.onSpawn?.(pid);
    stdout.on('data', (chunk: Buffer) => {
      if (!stopped && reader.push(chunk) === 'stop') stop();
    });
    stdout.on('error', () => {});
    stdout.once('end', () => {
      if (stopped) return;
      collector.finish();
      // rg printed its final summary: the walk is over, and the results stand whatever its exit code
      // (0, 1, or 2 for a file it could not read). Waiting to hear that it exited (a few milliseconds
      // through the spawn helper) would only delay the answer; the rest of the bookkeeping still waits.
      if (reader.sawSummary) resolve(makeResult(null));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < STDERR_KEEP) stderr += chunk;
    });
    child.stderr.on('error', () => {});

    const done = () => {
      if (--waiting > 0) return;
      clearTimeout(timer);
      options.onExit?.(pid, exitCode, exitSignal);
      options.signal?.removeEventListener('abort', onAbort);
      const code = exitCode;
      // (Settling again after the early answer above changes nothing.)
      if (aborted) return reject(new AppError('bad_request', 'search aborted'));
      if (timedOut) {
        // Having already filled max_results, the search was only looking for one more: that is an answer.
        if (collector.full) {
          collector.capped = true;
          return resolve(makeResult(null));
        }
        return reject(new AppError('search_timeout', `search timed out after ${reportedTimeoutMs / 1000} s`));
      }
      if (stopped) return resolve(makeResult(null));
      // 0: matches; 1: none. 2: an error — after the walk (an unreadable file) the results stand.
      if (code === 0 || code === 1 || (code === 2 && reader.sawSummary)) return resolve(makeResult(code));
      reject(classifyFailure(stderr, search, code));
    };
    stdout.once('close', done);
    child.stderr.once('close', done);
    child.onExit((code, signal) => {
      exitCode = code;
      exitSignal = signal;
      done();
    });
  });
}

/** Turns rg's complaint about its arguments into a 400 naming the parameter at fault. */
function classifyFailure(stderr: string, search: ContentSearch, code: number | null): AppError {
  const text = stderr.trim();
  const brief = text.split('\n').slice(0, 8).join('\n').slice(0, 1000);
  if (/regex parse error|error parsing regex|not allowed in a regex|size limit|regex/i.test(text) && !/glob/i.test(text)) {
    return badParam('q', `not a valid ${search.regex ? 'regular expression' : 'search pattern'}: ${brief}`);
  }
  if (/glob/i.test(text)) {
    const param = search.fileTypes.some((ext) => text.includes(`*.${ext}`)) ? 'file_types' : 'ignore_patterns';
    return badParam(param, `not a valid glob: ${brief}`);
  }
  return new AppError('internal_error', `ripgrep failed (exit ${code ?? 'signal'}): ${brief || 'no message'}`);
}
