import { useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf } from './hooks.js';
import type { Workspace } from './types.js';

type Verb = 'start' | 'stop' | 'pause' | 'resume';

/** The verbs that make sense in the workspace's state, and delete (confirmed). */
export function PowerButtons({
  ws,
  onDone,
  onError,
  onDeleted,
}: {
  ws: Workspace;
  onDone: () => void;
  onError: (message: string) => void;
  onDeleted?: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const run = async (what: () => Promise<unknown>, after = onDone) => {
    setBusy(true);
    try {
      await what();
      after();
    } catch (err) {
      onError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const verbs: Verb[] = ws.status === 'running' ? ['stop', 'pause'] : ws.status === 'paused' ? ['resume', 'stop'] : ['start'];
  return (
    <span class="buttons">
      {verbs.map((verb) => (
        <button
          key={verb}
          type="button"
          disabled={busy}
          aria-label={`${label(verb)} ${ws.name}`}
          onClick={() => run(() => api.power(ws.id, verb))}
        >
          {label(verb)}
        </button>
      ))}
      <button
        type="button"
        class="danger"
        disabled={busy}
        aria-label={`Delete ${ws.name}`}
        onClick={() => {
          if (confirm(`Delete workspace ${ws.name} (${ws.id})? Its files go with it.`)) run(() => api.remove(ws.id), onDeleted ?? onDone);
        }}
      >
        Delete
      </button>
    </span>
  );
}

function label(verb: Verb): string {
  return `${verb[0]?.toUpperCase()}${verb.slice(1)}`;
}
