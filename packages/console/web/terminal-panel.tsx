import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf } from './hooks.js';
import type { WorkspaceRuntime } from './runtime.js';

const SCREEN_READER_KEY = 'cove.console.screenReader';

/**
 * xterm.js (its DOM renderer: no WebGL or canvas addon is loaded, so the rows are DOM text) on a PTY of the
 * workspace, over the runtime's multiplexed WebSocket. Each time the socket (re)connects, the agent replays the
 * session's scrollback: the screen is cleared first so that the replay redraws it rather than repeats it.
 */
export function TerminalPanel({ runtime, visible }: { runtime: WorkspaceRuntime; visible: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const fitRef = useRef<FitAddon | undefined>(undefined);
  const termRef = useRef<Terminal | undefined>(undefined);
  const terminalRef = useRef<string | undefined>(undefined);
  const [state, setState] = useState<'connecting' | 'connected' | 'reconnecting' | 'exited'>('connecting');
  const [error, setError] = useState<string | undefined>(undefined);
  const [exitCode, setExitCode] = useState<number | undefined>(undefined);
  const [screenReader, setScreenReader] = useState(localStorage.getItem(SCREEN_READER_KEY) === '1');
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    const term = new Terminal({
      screenReaderMode: screenReader,
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, monospace',
      fontSize: 14,
      scrollback: 5000,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    termRef.current = term;
    fitRef.current = fit;
    fit.fit();

    const storageKey = `cove.console.terminal.${runtime.id}`;
    // "New terminal": the one shown now is closed and another made.
    const replace = generation > 0 ? terminalRef.current : undefined;
    let terminalId: string | undefined;
    let byte: string | undefined;
    let disposed = false;
    const offs: Array<() => void> = [];

    const start = async () => {
      try {
        setState('connecting');
        // This tab's terminal of this workspace, if it still runs: reattached rather than a new one per visit.
        const saved = replace ? undefined : sessionStorage.getItem(storageKey);
        if (replace) await runtime.rt.terminal.close(replace).catch(() => {});
        const alive = saved ? (await runtime.rt.terminal.list()).some((t) => t.id === saved && t.alive) : false;
        const id = alive && saved ? saved : (await runtime.rt.terminal.create({ cols: term.cols, rows: term.rows })).id;
        if (disposed) return;
        sessionStorage.setItem(storageKey, id);
        terminalId = id;
        terminalRef.current = id;
        if (!runtime.connected) {
          // Opening the socket replays the terminal's scrollback, which the output listener writes.
          byte = String(Number(id) & 0xff);
          await runtime.socket();
        } else {
          // The socket replayed before this terminal was ours: its scrollback comes by HTTP, then the live output.
          const { scrollback } = await runtime.rt.terminal.scrollback(id);
          term.write(Uint8Array.from(atob(scrollback), (c) => c.charCodeAt(0)));
          byte = String(Number(id) & 0xff);
        }
        if (disposed) return;
        runtime.resize(id, term.cols, term.rows);
        setState('connected');
        term.onData((data) => runtime.write(id, data));
        term.onBinary((data) =>
          runtime.write(
            id,
            Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff),
          ),
        );
        term.onResize(({ cols, rows }) => runtime.resize(id, cols, rows));
        term.focus();
      } catch (err) {
        if (!disposed) setError(messageOf(err));
      }
    };

    offs.push(
      runtime.onOutput((id, data) => {
        if (id === byte) term.write(data);
      }),
      runtime.onExit((id, code) => {
        if (id !== terminalId) return;
        setExitCode(code);
        setState('exited');
      }),
      runtime.onState((connected) => {
        if (!terminalId) return;
        if (connected) {
          // The replay that follows redraws the screen.
          term.reset();
          setState('connected');
          runtime.resize(terminalId, term.cols, term.rows);
        } else setState((s) => (s === 'exited' ? s : 'reconnecting'));
      }),
    );
    start();

    const observer = new ResizeObserver(() => {
      if (element.offsetParent !== null) fit.fit();
    });
    observer.observe(element);
    return () => {
      disposed = true;
      observer.disconnect();
      for (const off of offs) off();
      // The terminal keeps running: the next visit in this tab reattaches to it.
      term.dispose();
      termRef.current = undefined;
    };
    // A new terminal when asked for one (generation); the screen-reader switch changes the live terminal's option.
  }, [runtime, generation]);

  useEffect(() => {
    if (termRef.current) termRef.current.options.screenReaderMode = screenReader;
    localStorage.setItem(SCREEN_READER_KEY, screenReader ? '1' : '0');
  }, [screenReader]);

  useEffect(() => {
    if (visible) {
      fitRef.current?.fit();
      termRef.current?.focus();
    }
  }, [visible]);

  return (
    <div class="terminal-panel">
      <div class="toolbar">
        <span role="status" class="muted">
          {state === 'exited'
            ? `The shell exited (code ${exitCode}).`
            : state === 'connected'
              ? 'Connected'
              : state === 'reconnecting'
                ? 'Reconnecting…'
                : 'Connecting…'}
        </span>
        <button
          type="button"
          onClick={() => {
            // A fresh socket: the agent replays the scrollback of the terminal on it.
            runtime.close();
            runtime.socket().catch((err) => setError(messageOf(err)));
          }}
        >
          Reconnect
        </button>
        <button
          type="button"
          onClick={() => {
            setExitCode(undefined);
            setError(undefined);
            setGeneration((g) => g + 1);
          }}
        >
          New terminal
        </button>
        <label class="check">
          <input type="checkbox" checked={screenReader} onChange={(e) => setScreenReader(e.currentTarget.checked)} />
          Screen reader mode
        </label>
      </div>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="terminal" ref={host} />
    </div>
  );
}
