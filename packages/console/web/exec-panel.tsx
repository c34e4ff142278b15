import { useEffect, useState } from 'preact/hooks';
import { messageOf } from './hooks.js';
import type { WorkspaceRuntime } from './runtime.js';
import type { ExecTaskJson } from './types.js';

interface Ran {
  key: number;
  command: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  at: string;
}

/** Runs a shell command and keeps what it printed; below, the tasks the workspace's agent keeps (its history). */
export function ExecPanel({ runtime }: { runtime: WorkspaceRuntime }) {
  const [command, setCommand] = useState('');
  const [runs, setRuns] = useState<Ran[]>([]);
  const [tasks, setTasks] = useState<ExecTaskJson[] | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const loadTasks = () =>
    runtime.rt.exec
      .list()
      .then((list) => setTasks([...list].reverse()))
      .catch((err) => setError(messageOf(err)));
  useEffect(() => {
    loadTasks();
  }, [runtime]);

  const run = async (event: Event) => {
    event.preventDefault();
    const text = command.trim();
    if (!text) return;
    setBusy(true);
    setError(undefined);
    try {
      const task = await runtime.rt.exec.run(['/bin/sh', '-c', text], { timeoutSeconds: 300 });
      setRuns((list) => [
        {
          key: Date.now(),
          command: text,
          exitCode: task.exit_code ?? null,
          stdout: task.stdout ?? '',
          stderr: task.stderr ?? '',
          at: new Date().toLocaleTimeString(),
        },
        ...list,
      ]);
      setCommand('');
      await loadTasks();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="exec">
      <form onSubmit={run} class="inline-form">
        <label>
          Command
          <input name="command" class="wide" value={command} placeholder="ls -la" onInput={(e) => setCommand(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Running…' : 'Run'}
        </button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <section aria-labelledby="runs-heading">
        <h2 id="runs-heading">Output</h2>
        {runs.length === 0 ? (
          <p class="muted">Commands run here show their output here.</p>
        ) : (
          <ol class="runs" aria-live="polite">
            {runs.map((r) => (
              <li key={r.key}>
                <div>
                  <time>{r.at}</time> <code>$ {r.command}</code> <span class="muted">exit {r.exitCode ?? '—'}</span>
                </div>
                {r.stdout && <pre class="stdout">{r.stdout}</pre>}
                {r.stderr && <pre class="stderr">{r.stderr}</pre>}
              </li>
            ))}
          </ol>
        )}
      </section>
      <section aria-labelledby="tasks-heading">
        <h2 id="tasks-heading">
          History <span class="muted">(the workspace's tasks)</span>
        </h2>
        <button type="button" onClick={loadTasks}>
          Refresh history
        </button>
        {tasks === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : tasks.length === 0 ? (
          <p class="muted">No tasks.</p>
        ) : (
          <table class="tasks">
            <thead>
              <tr>
                <th scope="col">Command</th>
                <th scope="col">Status</th>
                <th scope="col">Exit</th>
                <th scope="col">Started</th>
              </tr>
            </thead>
            <tbody>
              {tasks.map((t) => (
                <tr key={t.id}>
                  <td>
                    <code>{commandText(t)}</code>
                  </td>
                  <td>{t.status}</td>
                  <td>{t.exit_code ?? '—'}</td>
                  <td>{t.started_at ? new Date(t.started_at).toLocaleTimeString() : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function commandText(task: ExecTaskJson): string {
  const cmd = (task as { command?: unknown }).command;
  if (!Array.isArray(cmd)) return String(cmd ?? '');
  // The console's own runs are `/bin/sh -c TEXT`: show TEXT.
  return cmd[0] === '/bin/sh' && cmd[1] === '-c' && cmd.length === 3 ? String(cmd[2]) : cmd.join(' ');
}
