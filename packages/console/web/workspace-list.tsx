import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf, useInterval } from './hooks.js';
import { PowerButtons } from './power-buttons.js';
import type { Workspace } from './types.js';

/** Every workspace of the account, with its power buttons, and the form that creates one. */
export function WorkspaceList() {
  const [workspaces, setWorkspaces] = useState<Workspace[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);

  const refresh = () =>
    api
      .workspaces()
      .then((list) => {
        setWorkspaces(list);
        setError(undefined);
      })
      .catch((err) => setError(messageOf(err)));
  useInterval(refresh, 5000);

  return (
    <>
      <h1>Workspaces</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {workspaces === undefined ? (
        <p aria-busy="true">Loading…</p>
      ) : workspaces.length === 0 ? (
        <p>No workspaces yet.</p>
      ) : (
        <table class="workspaces">
          <caption class="visually-hidden">Workspaces</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Image</th>
              <th scope="col">Limits</th>
              <th scope="col">Address</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {workspaces.map((ws) => (
              <tr key={ws.id} data-workspace={ws.id}>
                <th scope="row">
                  <a href={`#/w/${encodeURIComponent(ws.id)}`}>{ws.name}</a>
                  <div class="muted">{ws.id}</div>
                </th>
                <td>
                  <Status ws={ws} />
                </td>
                <td>{ws.image}</td>
                <td>{limits(ws)}</td>
                <td>{ws.ip ?? '—'}</td>
                <td>
                  <PowerButtons ws={ws} onDone={refresh} onError={setError} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <CreateWorkspace onCreated={(ws) => (location.hash = `#/w/${encodeURIComponent(ws.id)}`)} />
    </>
  );
}

export function Status({ ws }: { ws: Workspace }) {
  const provisioning = ws.provisioning;
  const text = provisioning ? `${ws.status} (${provisioning.phase}${provisioning.message ? `: ${provisioning.message}` : ''})` : ws.status;
  return <span class={`status status-${ws.status}`}>{text}</span>;
}

export function limits(ws: Workspace): string {
  const c = ws.config;
  return `${c.cpus} CPU · ${c.memory_mb} MiB · ${c.disk_size_mb} MiB disk`;
}

/** Name, image (from the control plane's list), limits, and whether the gateway may reach it. */
function CreateWorkspace({ onCreated }: { onCreated: (ws: Workspace) => void }) {
  const [images, setImages] = useState<Array<{ image: string; label: string; desc: string }>>([]);
  const [name, setName] = useState('');
  const [image, setImage] = useState('');
  const [cpus, setCpus] = useState('');
  const [memory, setMemory] = useState('');
  const [disk, setDisk] = useState('');
  const [gateway, setGateway] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    api
      .images()
      .then(setImages)
      .catch((err) => setError(`images: ${messageOf(err)}`));
  }, []);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = {};
      if (name.trim()) body.name = name.trim();
      if (image) body.image = image;
      if (cpus) body.cpus = Number(cpus);
      if (memory) body.memory_mb = Number(memory);
      if (disk) body.disk_size_mb = Number(disk);
      const ws = await api.create(body);
      // The terminal, files and exec views go through the gateway, which needs this.
      if (gateway) await api.updateNetwork(ws.id, { public_access: true });
      onCreated(ws);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="create-heading" class="panel">
      <h2 id="create-heading">Create a workspace</h2>
      <form onSubmit={submit} class="grid-form">
        <label>
          Name
          <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="dev" />
        </label>
        <label>
          Image
          <select name="image" value={image} onChange={(e) => setImage(e.currentTarget.value)}>
            <option value="">Default</option>
            {images.map((img) => (
              <option key={img.image} value={img.image} title={img.desc}>
                {img.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          CPUs
          <input name="cpus" type="number" min="1" value={cpus} onInput={(e) => setCpus(e.currentTarget.value)} />
        </label>
        <label>
          Memory (MiB)
          <input name="memory_mb" type="number" min="64" value={memory} onInput={(e) => setMemory(e.currentTarget.value)} />
        </label>
        <label>
          Disk (MiB)
          <input name="disk_size_mb" type="number" min="64" value={disk} onInput={(e) => setDisk(e.currentTarget.value)} />
        </label>
        <label class="check">
          <input type="checkbox" name="gateway" checked={gateway} onChange={(e) => setGateway(e.currentTarget.checked)} />
          Reachable through the gateway (terminal, files, exec)
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
