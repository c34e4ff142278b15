import { useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf, useInterval } from './hooks.js';
import type { StatsResponse } from './types.js';

const SAMPLES = 60;

/** The workspace's figures every two seconds while shown, with the last two minutes of CPU and memory as lines. */
export function StatsPanel({ id, active }: { id: string; active: boolean }) {
  const [samples, setSamples] = useState<StatsResponse[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);

  useInterval(
    () =>
      api
        .stats(id)
        .then((s) => {
          setSamples((list) => [...list, s].slice(-SAMPLES));
          setError(undefined);
        })
        .catch((err) => setError(messageOf(err))),
    2000,
    active,
  );

  const last = samples[samples.length - 1];
  return (
    <div class="stats">
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {!last ? (
        <p aria-busy="true">Reading…</p>
      ) : (
        <>
          <dl class="details" aria-live="off">
            <dt>CPU</dt>
            <dd data-stat="cpu">
              {pct(last.cpu_usage)} ({last.cpu.cores.toFixed(2)} cores)
            </dd>
            <dt>Memory</dt>
            <dd data-stat="memory">
              {bytes(last.memory.current_bytes)}
              {last.memory.limit_bytes ? ` of ${bytes(last.memory.limit_bytes)}` : ''} ({pct(last.memory_usage)})
            </dd>
            <dt>Processes</dt>
            <dd>{last.processes.current}</dd>
            <dt>Disk</dt>
            <dd>{last.disk.used_bytes === null ? '—' : `${bytes(last.disk.used_bytes)} (${pct(last.disk_usage)})`}</dd>
            <dt>Network</dt>
            <dd>{last.network.rx_bytes === null ? '—' : `↓ ${bytes(last.network.rx_bytes)} · ↑ ${bytes(last.network.tx_bytes ?? 0)}`}</dd>
          </dl>
          <Sparkline label="CPU %" values={samples.map((s) => s.cpu_usage ?? 0)} />
          <Sparkline label="Memory %" values={samples.map((s) => s.memory_usage ?? 0)} />
        </>
      )}
    </div>
  );
}

function Sparkline({ label, values }: { label: string; values: number[] }) {
  const width = 300;
  const height = 60;
  const max = Math.max(100, ...values);
  const points = values.map((v, i) => `${(i / Math.max(1, SAMPLES - 1)) * width},${height - (v / max) * height}`).join(' ');
  return (
    <figure class="sparkline">
      <svg
        width={width}
        height={height}
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${label} over the last ${values.length} samples`}
      >
        <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" />
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

function pct(value: number | null): string {
  return value === null ? '—' : `${value.toFixed(1)}%`;
}

function bytes(value: number | null): string {
  if (value === null) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = value;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
