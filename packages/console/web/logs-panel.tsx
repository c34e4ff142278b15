import { useEffect, useRef, useState } from 'preact/hooks';
import { openEvents } from './api.js';
import { messageOf } from './hooks.js';
import type { LogLine } from './types.js';

type Source = 'boot' | 'cmd';
/** Lines the view keeps: the newest, so a chatty boot log cannot grow the page without end. */
const KEEP = 2000;
const SOURCES: ReadonlyArray<[Source, string]> = [
  ['boot', 'Boot log'],
  ['cmd', 'Command log'],
];

interface Shown extends LogLine {
  key: number;
}

/**
 * The boot log (start-up and agent output) or the command log (commands run through exec, with their exit codes
 * and output), followed live from the control plane's SSE routes while the view is shown.
 */
export function LogsPanel({ id, active }: { id: string; active: boolean }) {
  const [source, setSource] = useState<Source>('boot');
  const [lines, setLines] = useState<Shown[]>([]);
  const [state, setState] = useState<'connecting' | 'following' | 'ended'>('connecting');
  const [error, setError] = useState<string | undefined>(undefined);
  const [generation, setGeneration] = useState(0);
  const list = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    if (!active) return;
    const stop = new AbortController();
    let key = 0;
    setLines([]);
    setError(undefined);
    setState('connecting');
    (async () => {
      try {
        const stream = await openEvents(
          `/workspace/${encodeURIComponent(id)}/logs/stream/${source}?follow=true&tail_lines=200`,
          stop.signal,
        );
        setState('following');
        for await (const { event, data } of stream) {
          if (event !== 'log') continue;
          const line = { ...(data as LogLine), key: key++ };
          setLines((old) => (old.length >= KEEP ? [...old.slice(old.length - KEEP + 1), line] : [...old, line]));
        }
        setState('ended');
      } catch (err) {
        if (stop.signal.aborted) return;
        setError(messageOf(err));
        setState('ended');
      }
    })();
    return () => stop.abort();
  }, [id, source, active, generation]);

  // Stays at the bottom while the reader is there; scrolling up to read stops the jumping.
  useEffect(() => {
    const el = list.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [lines]);

  return (
    <div class="logs">
      <div class="toolbar" role="radiogroup" aria-label="Log">
        {SOURCES.map(([s, label]) => (
          <label key={s} class="check">
            <input type="radio" name="log-source" value={s} checked={source === s} onChange={() => setSource(s)} />
            {label}
          </label>
        ))}
        <span role="status" class="muted">
          {state === 'following' ? 'Following' : state === 'connecting' ? 'Connecting…' : 'Stream ended'}
        </span>
        {state === 'ended' && (
          <button type="button" onClick={() => setGeneration((g) => g + 1)}>
            Reconnect
          </button>
        )}
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {lines.length === 0 && state === 'following' ? (
        <p>{source === 'boot' ? 'The boot log is empty.' : 'No command has run through exec yet.'}</p>
      ) : (
        <div
          ref={list}
          class="log-lines"
          role="log"
          aria-label={source === 'boot' ? 'Boot log' : 'Command log'}
          onScroll={(e) => {
            const el = e.currentTarget;
            pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
          }}
        >
          <ol>
            {lines.map((line) => (
              <li key={line.key} data-source={source}>
                {line.timestamp && <time dateTime={line.timestamp}>{new Date(line.timestamp).toLocaleTimeString()}</time>}{' '}
                <span class="message">{line.message}</span>
                {source === 'cmd' && <CommandOutput line={line} />}
              </li>
            ))}
          </ol>
        </div>
      )}
    </div>
  );
}

/** A command record's exit and the end of its output, folded away until asked for. */
function CommandOutput({ line }: { line: LogLine }) {
  const record = line as LogLine & { exit_code?: number | null; stdout?: string; stderr?: string };
  const failed = typeof record.exit_code === 'number' && record.exit_code !== 0;
  if (!record.stdout && !record.stderr) return failed ? <span class="error"> exit {record.exit_code}</span> : null;
  return (
    <details>
      <summary class={failed ? 'error' : undefined}>output{failed ? ` (exit ${record.exit_code})` : ''}</summary>
      {record.stdout && <pre class="stdout">{record.stdout}</pre>}
      {record.stderr && <pre class="stderr">{record.stderr}</pre>}
    </details>
  );
}
