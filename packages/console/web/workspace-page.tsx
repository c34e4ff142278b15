import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api } from './api.js';
import { ExecPanel } from './exec-panel.js';
import { FilesPanel } from './files-panel.js';
import { messageOf, useInterval } from './hooks.js';
import { LifecyclePanel } from './lifecycle-panel.js';
import { LogsPanel } from './logs-panel.js';
import { NetworkPanel } from './network-panel.js';
import { PowerButtons } from './power-buttons.js';
import { WorkspaceRuntime } from './runtime.js';
import { SnapshotsPanel } from './snapshots-panel.js';
import { StatsPanel } from './stats-panel.js';
import { TerminalPanel } from './terminal-panel.js';
import type { Lifecycle, NetworkResponse, Workspace } from './types.js';
import { WorkloadsPanel } from './workloads-panel.js';
import { limits, Status } from './workspace-list.js';

const TABS = [
  ['overview', 'Overview'],
  ['terminal', 'Terminal'],
  ['files', 'Files'],
  ['exec', 'Exec'],
  ['stats', 'Stats'],
  ['logs', 'Logs'],
  ['workloads', 'Workloads'],
  ['snapshots', 'Snapshots'],
  ['lifecycle', 'Lifecycle'],
] as const;
type Tab = (typeof TABS)[number][0];

/**
 * One workspace: its overview (details, power, network, ports) and, through the gateway, a terminal, its files
 * with live watcher events, commands and their history; from the control plane its figures, logs (followed
 * live), workloads, snapshots and forks, and lifecycle. A view stays mounted once opened, so the terminal and
 * the watcher keep running while another tab is shown.
 */
export function WorkspacePage({ id, tab, gatewayUrl }: { id: string; tab: string; gatewayUrl: string }) {
  const [ws, setWs] = useState<Workspace | undefined>(undefined);
  const [network, setNetwork] = useState<NetworkResponse | undefined>(undefined);
  const [lifecycle, setLifecycle] = useState<Lifecycle | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const runtime = useMemo(() => new WorkspaceRuntime(id, gatewayUrl), [id, gatewayUrl]);
  const current: Tab = TABS.some(([t]) => t === tab) ? (tab as Tab) : 'overview';
  const [opened, setOpened] = useState<Set<Tab>>(new Set([current]));

  useEffect(() => () => runtime.close(), [runtime]);
  useEffect(() => setOpened((s) => (s.has(current) ? s : new Set([...s, current]))), [current]);

  const refresh = () => {
    api
      .workspace(id)
      .then(setWs)
      .catch((err) => setError(messageOf(err)));
    api
      .network(id)
      .then(setNetwork)
      .catch(() => {});
    api
      .lifecycle(id)
      .then(setLifecycle)
      .catch(() => {});
  };
  useInterval(refresh, 5000);

  if (!ws) return error ? <p role="alert">{error}</p> : <p aria-busy="true">Loading…</p>;

  const running = ws.status === 'running' && ws.ready;
  const reachable = running && network?.public_access === true;
  const dataPlane = (panel: ComponentChildren) =>
    reachable ? panel : <Unreachable ws={ws} network={network} onChanged={refresh} onError={setError} />;

  return (
    <>
      <h1>
        {ws.name} <span class="muted">{ws.id}</span>
      </h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <nav aria-label="Workspace views" class="tabs">
        {TABS.map(([t, label]) => (
          <a key={t} href={`#/w/${encodeURIComponent(id)}/${t}`} aria-current={t === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
      </nav>
      <section hidden={current !== 'overview'} aria-label="Overview">
        <dl class="details">
          <dt>Status</dt>
          <dd>
            <Status ws={ws} />
          </dd>
          <dt>Image</dt>
          <dd>{ws.image}</dd>
          <dt>Limits</dt>
          <dd>{limits(ws)}</dd>
          <dt>Address</dt>
          <dd>{ws.ip ?? '—'}</dd>
          <dt>Driver</dt>
          <dd>{ws.driver}</dd>
          <dt>Created</dt>
          <dd>{new Date(ws.created_at).toLocaleString()}</dd>
          <dt>Lifetime</dt>
          <dd>
            {lifecycle?.mode === 'temporary' && lifecycle.expires_at
              ? `${lifecycle.ttl_action} at ${new Date(lifecycle.expires_at).toLocaleString()}`
              : 'permanent'}
          </dd>
        </dl>
        <PowerButtons ws={ws} onDone={refresh} onError={setError} onDeleted={() => (location.hash = '#/')} />
        {opened.has('overview') && <NetworkPanel id={id} network={network} onChanged={refresh} />}
      </section>
      <section hidden={current !== 'terminal'} aria-label="Terminal">
        {opened.has('terminal') && dataPlane(<TerminalPanel runtime={runtime} visible={current === 'terminal'} />)}
      </section>
      <section hidden={current !== 'files'} aria-label="Files">
        {opened.has('files') && dataPlane(<FilesPanel runtime={runtime} />)}
      </section>
      <section hidden={current !== 'exec'} aria-label="Exec">
        {opened.has('exec') && dataPlane(<ExecPanel runtime={runtime} />)}
      </section>
      <section hidden={current !== 'stats'} aria-label="Stats">
        {opened.has('stats') &&
          (running ? <StatsPanel id={id} active={current === 'stats'} /> : <p>Stats are read while the workspace runs.</p>)}
      </section>
      <section hidden={current !== 'logs'} aria-label="Logs">
        {opened.has('logs') && <LogsPanel id={id} active={current === 'logs'} />}
      </section>
      <section hidden={current !== 'workloads'} aria-label="Workloads">
        {opened.has('workloads') &&
          (running ? <WorkloadsPanel id={id} active={current === 'workloads'} /> : <p>Workloads run while the workspace runs.</p>)}
      </section>
      <section hidden={current !== 'snapshots'} aria-label="Snapshots">
        {opened.has('snapshots') && <SnapshotsPanel ws={ws} lifecycle={lifecycle} onChanged={refresh} />}
      </section>
      <section hidden={current !== 'lifecycle'} aria-label="Lifecycle">
        {opened.has('lifecycle') && <LifecyclePanel id={id} lifecycle={lifecycle} onChanged={setLifecycle} />}
      </section>
    </>
  );
}

/** Why the gateway cannot reach the workspace now, and the button that changes it. */
function Unreachable({
  ws,
  network,
  onChanged,
  onError,
}: {
  ws: Workspace;
  network: NetworkResponse | undefined;
  onChanged: () => void;
  onError: (message: string) => void;
}) {
  if (ws.status !== 'running') return <p>The workspace is {ws.status}: start it to use this view.</p>;
  if (!ws.ready) return <p aria-busy="true">The workspace is starting…</p>;
  if (!network) return <p aria-busy="true">Loading…</p>;
  return (
    <p>
      The gateway may not reach this workspace (public access is off).{' '}
      <button
        type="button"
        onClick={() =>
          api
            .updateNetwork(ws.id, { public_access: true })
            .then(onChanged)
            .catch((err) => onError(messageOf(err)))
        }
      >
        Allow gateway access
      </button>
    </p>
  );
}
