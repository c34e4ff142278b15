import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf } from './hooks.js';
import type { Lifecycle, Snapshot, Workspace } from './types.js';

/**
 * The workspace's snapshot (its file system at one instant; memory is not in it), and what to do with it: take a
 * new one, restore it, or fork the workspace into copies. Each asks first: a snapshot replaces the previous one, a
 * restore loses every change since, a fork makes new workspaces. Offered only where the lifecycle answer (which
 * the page loads anyway) says the driver has file-system snapshots; elsewhere the view says why.
 */
export function SnapshotsPanel({ ws, lifecycle, onChanged }: { ws: Workspace; lifecycle: Lifecycle | undefined; onChanged: () => void }) {
  const [snapshot, setSnapshot] = useState<Snapshot | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [forkName, setForkName] = useState('');
  const [count, setCount] = useState('1');
  const [children, setChildren] = useState<Workspace[]>([]);
  const capability = lifecycle?.filesystem_snapshots;
  const supported = capability?.supported === true;

  useEffect(() => {
    if (!supported) return;
    api
      .snapshot(ws.id)
      .then(setSnapshot)
      .catch((err) => setError(messageOf(err)));
  }, [ws.id, supported]);

  const act = async (question: string, what: () => Promise<string>) => {
    if (!confirm(question)) return;
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      setDone(await what());
      onChanged();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (capability === undefined) return <p aria-busy="true">Loading…</p>;
  if (!supported) return <p data-snapshots-unavailable>Snapshots are not available here: {capability.unavailable_reason}.</p>;

  return (
    <div class="snapshots">
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {done && <p role="status">{done}</p>}
      <dl class="details">
        <dt>Latest snapshot</dt>
        <dd data-snapshot>
          {snapshot === undefined
            ? 'Loading…'
            : snapshot === null
              ? 'none'
              : `${new Date(snapshot.created_at).toLocaleString()} (${(snapshot.size_bytes / 1024 / 1024).toFixed(1)} MiB of its own disk)`}
        </dd>
        <dt>Memory</dt>
        <dd>not included: processes start again after a restore</dd>
      </dl>
      <p class="buttons">
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            act(
              `Take a snapshot of ${ws.name}? It replaces the previous one${snapshot ? ` (${new Date(snapshot.created_at).toLocaleString()})` : ''}.`,
              async () => {
                const taken = await api.takeSnapshot(ws.id);
                setSnapshot(taken);
                return `Snapshot taken at ${new Date(taken.created_at).toLocaleString()}.`;
              },
            )
          }
        >
          Take snapshot
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy || !snapshot}
          onClick={() =>
            act(
              `Restore ${ws.name} to its snapshot of ${snapshot ? new Date(snapshot.created_at).toLocaleString() : '?'}? Every change since is lost${ws.status === 'running' ? ' and the workspace restarts' : ''}.`,
              async () => {
                const restored = await api.restore(ws.id);
                return `Restored to the snapshot of ${new Date(restored.created_at).toLocaleString()}.`;
              },
            )
          }
        >
          Restore snapshot
        </button>
      </p>
      <form
        class="inline-form"
        aria-label="Fork"
        onSubmit={(e) => {
          e.preventDefault();
          const n = Number(count);
          act(`Fork ${ws.name} into ${n} new workspace${n === 1 ? '' : 's'} with its files as they are now?`, async () => {
            const made = await api.fork(ws.id, { count: n, ...(forkName.trim() ? { name: forkName.trim() } : {}) });
            setChildren(made);
            return `Forked into ${made.map((c) => c.name).join(', ')}.`;
          });
        }}
      >
        <label>
          Fork name
          <input value={forkName} onInput={(e) => setForkName(e.currentTarget.value)} placeholder={`${ws.name}-fork`} />
        </label>
        <label>
          Copies
          <input type="number" min="1" max="100" required value={count} onInput={(e) => setCount(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={busy}>
          Fork
        </button>
      </form>
      {children.length > 0 && (
        <ul aria-label="Forks">
          {children.map((c) => (
            <li key={c.id}>
              <a href={`#/w/${encodeURIComponent(c.id)}/overview`}>{c.name}</a> <span class="muted">{c.id}</span> {c.status}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
