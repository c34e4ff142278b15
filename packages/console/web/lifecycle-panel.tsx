import { useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf, useInterval } from './hooks.js';
import type { Lifecycle } from './types.js';

/** Seconds as the largest whole unit that fits (90 → "90 s", 7200 → "2 h"). */
function duration(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['min', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${unit}`;
  }
  return `${seconds} s`;
}

/** How long until `at`, in words, from `now`. */
function until(at: string, now: number): string {
  const left = Math.round((Date.parse(at) - now) / 1000);
  if (left <= 0) return 'now';
  const h = Math.floor(left / 3600);
  const m = Math.floor((left % 3600) / 60);
  const s = left % 60;
  return h > 0 ? `in ${h} h ${m} min` : m > 0 ? `in ${m} min ${s} s` : `in ${s} s`;
}

/**
 * How long the workspace lives and when it sleeps: its mode and TTL (with the time left), its idle policy, its
 * last activity and what happened to it; forms to set the TTL, make it permanent, set the idle policy, and ping.
 */
export function LifecyclePanel({
  id,
  lifecycle,
  onChanged,
}: {
  id: string;
  lifecycle: Lifecycle | undefined;
  onChanged: (l: Lifecycle) => void;
}) {
  const [now, setNow] = useState(Date.now());
  const [ttl, setTtl] = useState('1h');
  const [action, setAction] = useState('stop');
  const [suspendAfter, setSuspendAfter] = useState('');
  const [stopAfter, setStopAfter] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  useInterval(() => setNow(Date.now()), 1000);

  const act = async (what: () => Promise<Lifecycle | undefined>, message: string) => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const next = await what();
      onChanged(next ?? (await api.lifecycle(id)));
      setDone(message);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  if (!lifecycle) return <p aria-busy="true">Loading…</p>;
  const l = lifecycle;
  return (
    <div class="lifecycle">
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {done && <p role="status">{done}</p>}
      <dl class="details">
        <dt>Mode</dt>
        <dd data-lifecycle="mode">{l.mode}</dd>
        <dt>Time to live</dt>
        <dd data-lifecycle="ttl">
          {l.mode === 'temporary' && l.ttl !== undefined
            ? `${duration(l.ttl)}, then ${l.ttl_action}${l.expires_at ? ` — ${until(l.expires_at, now)} (${new Date(l.expires_at).toLocaleString()})` : ''}`
            : 'none (lives until deleted)'}
        </dd>
        <dt>When idle</dt>
        <dd data-lifecycle="idle">
          {l.idle
            ? `suspend after ${duration(l.idle.suspend_after)}${l.idle.stop_after ? `, stop ${duration(l.idle.stop_after)} later` : ''}`
            : 'keeps running'}
        </dd>
        <dt>Last activity</dt>
        <dd>{l.last_activity_at ? new Date(l.last_activity_at).toLocaleString() : '—'}</dd>
        <dt>Uptime</dt>
        <dd>{l.uptime > 0 ? duration(l.uptime) : '—'}</dd>
        <dt>Restarts</dt>
        <dd>
          {l.restart_policy} ({l.restart_info.count} so far)
        </dd>
        {l.stopped_by && (
          <>
            <dt>Put to sleep by</dt>
            <dd>
              {l.stopped_by}
              {l.wake_on_traffic ? ' (a request through the gateway wakes it)' : ''}
            </dd>
          </>
        )}
      </dl>
      <form
        class="inline-form"
        aria-label="Time to live"
        onSubmit={(e) => {
          e.preventDefault();
          act(() => api.setTtl(id, { ttl: ttl.trim(), ttl_action: action }), `The workspace now lives ${ttl.trim()}, then ${action}.`);
        }}
      >
        <label>
          TTL
          <input required value={ttl} onInput={(e) => setTtl(e.currentTarget.value)} aria-describedby="ttl-help" />
        </label>
        <label>
          Then
          <select value={action} onChange={(e) => setAction(e.currentTarget.value)}>
            <option value="stop">stop</option>
            <option value="pause">pause</option>
            <option value="suspend">suspend</option>
            <option value="remove">remove</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Set TTL
        </button>
        <button
          type="button"
          disabled={busy || l.mode === 'permanent'}
          onClick={() => act(() => api.makePermanent(id), 'The workspace is permanent.')}
        >
          Make permanent
        </button>
        <button
          type="button"
          disabled={busy}
          onClick={() =>
            act(async () => {
              await api.ping(id);
              return undefined;
            }, 'Pinged: the TTL starts again.')
          }
        >
          Ping
        </button>
      </form>
      <p id="ttl-help" class="muted">
        Durations are whole seconds or 30s, 10m, 2h, 1d; activity (and Ping) starts a TTL again.
      </p>
      <form
        class="inline-form"
        aria-label="Idle policy"
        onSubmit={(e) => {
          e.preventDefault();
          act(
            () =>
              api.setIdle(id, { suspend_after: suspendAfter.trim() || 0, ...(stopAfter.trim() ? { stop_after: stopAfter.trim() } : {}) }),
            suspendAfter.trim() ? 'Idle policy set.' : 'Idle policy cleared.',
          );
        }}
      >
        <label>
          Suspend when idle for
          <input value={suspendAfter} onInput={(e) => setSuspendAfter(e.currentTarget.value)} placeholder="10m (empty: never)" />
        </label>
        <label>
          Then stop after
          <input value={stopAfter} onInput={(e) => setStopAfter(e.currentTarget.value)} placeholder="1h (empty: stay suspended)" />
        </label>
        <button type="submit" disabled={busy}>
          Set idle policy
        </button>
      </form>
      {l.events.length > 0 && (
        <>
          <h3>What happened</h3>
          <ol class="events">
            {[...l.events].reverse().map((ev) => (
              <li key={`${ev.at}-${ev.type}`}>
                <time dateTime={ev.at}>{new Date(ev.at).toLocaleString()}</time> {ev.type}
                {ev.action ? ` (${ev.action})` : ''}
                {ev.detail ? `: ${ev.detail}` : ''}
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
