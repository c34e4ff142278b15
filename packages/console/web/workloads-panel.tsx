import { useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf, useInterval } from './hooks.js';
import type { WorkloadInfo, WorkloadLogEntry } from './types.js';

/** A workload's state in words: how it runs, or how it ended. */
function state(w: WorkloadInfo): string {
  if (w.status === 'running') return `running (pid ${w.pid})`;
  if (w.status === 'restarting') return `restarting (${w.restart_count} in a row)`;
  if (w.status === 'exited' || w.status === 'failed')
    return `${w.status} (exit ${w.exit_code ?? w.signal ?? '?'})${w.error ? `: ${w.error}` : ''}`;
  return w.status;
}

/**
 * The workspace's workloads (background processes its agent supervises): their state, start and stop, the end
 * of their output, and a form to run a new one. The list is read again every few seconds while shown.
 */
export function WorkloadsPanel({ id, active }: { id: string; active: boolean }) {
  const [workloads, setWorkloads] = useState<WorkloadInfo[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [name, setName] = useState('');
  const [command, setCommand] = useState('');
  const [policy, setPolicy] = useState('never');
  const [shown, setShownState] = useState<{ workload: WorkloadInfo; logs: WorkloadLogEntry[] } | undefined>(undefined);
  // What the timer reads: the state of the moment, not of the render that started it (a removed workload's
  // output is not asked for again).
  const shownRef = useRef(shown);
  const setShown = (next: typeof shown) => {
    shownRef.current = next;
    setShownState(next);
  };

  // The list, and the output shown (it grows while the workload runs).
  const load = () => {
    const current = shownRef.current;
    if (current) {
      api
        .workloadLogs(id, current.workload.id)
        .then((logs) => {
          if (shownRef.current?.workload.id === current.workload.id) setShown({ workload: current.workload, logs });
        })
        .catch(() => {});
    }
    return api
      .workloads(id)
      .then((list) => {
        setWorkloads(list);
        setError(undefined);
      })
      .catch((err) => setError(messageOf(err)));
  };
  useInterval(load, 3000, active);

  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await what();
      await load();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const showLogs = (w: WorkloadInfo) => act(async () => setShown({ workload: w, logs: await api.workloadLogs(id, w.id) }));

  return (
    <div class="workloads">
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {workloads === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : workloads.length === 0 ? (
        <p>No workloads. Run one below: it keeps running in the background and starts again with the workspace.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">State</th>
              <th scope="col">Restart</th>
              <th scope="col">Command</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {workloads.map((w) => (
              <tr key={w.id} data-workload={w.name}>
                <td>
                  {w.name} <span class="muted">{w.id}</span>
                </td>
                <td class={`status-${w.status}`}>{state(w)}</td>
                <td>{w.restart_policy}</td>
                <td>
                  <code>{w.cmd.join(' ')}</code>
                </td>
                <td class="buttons">
                  {w.status === 'running' || w.status === 'restarting' ? (
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Stop workload ${w.name}`}
                      onClick={() => act(() => api.workloadPower(id, w.id, 'stop'))}
                    >
                      Stop
                    </button>
                  ) : (
                    <button
                      type="button"
                      disabled={busy}
                      aria-label={`Start workload ${w.name}`}
                      onClick={() => act(() => api.workloadPower(id, w.id, 'start'))}
                    >
                      Start
                    </button>
                  )}
                  <button type="button" disabled={busy} aria-label={`Output of workload ${w.name}`} onClick={() => showLogs(w)}>
                    Output
                  </button>
                  <button
                    type="button"
                    class="danger"
                    disabled={busy}
                    aria-label={`Remove workload ${w.name}`}
                    onClick={() => {
                      if (confirm(`Remove workload ${w.name}? It is stopped and its log deleted.`)) {
                        if (shownRef.current?.workload.id === w.id) setShown(undefined);
                        act(() => api.removeWorkload(id, w.id));
                      }
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shown && (
        <section aria-label={`Output of ${shown.workload.name}`} class="panel">
          <h3>
            Output of {shown.workload.name}{' '}
            <button type="button" onClick={() => showLogs(shown.workload)} disabled={busy}>
              Refresh
            </button>
          </h3>
          <pre class="workload-output">{shown.logs.length === 0 ? '(nothing yet)' : shown.logs.map((l) => `${l.data}\n`).join('')}</pre>
        </section>
      )}
      <form
        class="inline-form"
        aria-label="Run a workload"
        onSubmit={(e) => {
          e.preventDefault();
          act(async () => {
            await api.createWorkload(id, { command, restart_policy: policy, ...(name.trim() ? { name: name.trim() } : {}) });
            setName('');
            setCommand('');
          });
        }}
      >
        <label>
          Workload name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="web" />
        </label>
        <label>
          Workload command
          <input
            class="wide"
            required
            value={command}
            onInput={(e) => setCommand(e.currentTarget.value)}
            placeholder="python3 -m http.server 8080"
          />
        </label>
        <label>
          Restart
          <select value={policy} onChange={(e) => setPolicy(e.currentTarget.value)}>
            <option value="never">never</option>
            <option value="on-failure">on failure</option>
            <option value="always">always</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Run workload
        </button>
      </form>
    </div>
  );
}
