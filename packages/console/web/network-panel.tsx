import { useEffect, useState } from 'preact/hooks';
import { api } from './api.js';
import { messageOf } from './hooks.js';
import type { NetworkResponse, PublicPort } from './types.js';

/** Network settings (gateway access, internet, links, egress) and the ports exposed at public URLs. */
export function NetworkPanel({ id, network, onChanged }: { id: string; network: NetworkResponse | undefined; onChanged: () => void }) {
  const [ports, setPorts] = useState<PublicPort[]>([]);
  const [port, setPort] = useState('');
  const [auth, setAuth] = useState<'public' | 'token'>('public');
  const [issuedToken, setIssuedToken] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const loadPorts = () =>
    api
      .ports(id)
      .then(setPorts)
      .catch((err) => setError(messageOf(err)));
  useEffect(() => {
    loadPorts();
  }, [id]);

  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await what();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const toggle = (field: 'public_access' | 'allow_internet', value: boolean) =>
    act(async () => {
      await api.updateNetwork(id, { [field]: value });
      onChanged();
    });

  return (
    <section aria-labelledby="network-heading" class="panel">
      <h2 id="network-heading">Network</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {network ? (
        <>
          <label class="check">
            <input
              type="checkbox"
              checked={network.public_access}
              disabled={busy}
              onChange={(e) => toggle('public_access', e.currentTarget.checked)}
            />
            Gateway access (public access: the Internal API through the gateway)
          </label>
          <label class="check">
            <input
              type="checkbox"
              checked={network.allow_internet}
              disabled={busy}
              onChange={(e) => toggle('allow_internet', e.currentTarget.checked)}
            />
            Internet access
          </label>
          <dl class="details">
            <dt>Private address</dt>
            <dd>{network.ip ?? '—'}</dd>
            <dt>Private links</dt>
            <dd>{network.private_link_ids.length ? network.private_link_ids.join(', ') : 'none'}</dd>
            <dt>Egress allow-list</dt>
            <dd>{network.egress.length ? network.egress.join(', ') : 'none'}</dd>
            <dt>Ingress ports</dt>
            <dd>{network.ingress_ports.length ? network.ingress_ports.join(', ') : 'none'}</dd>
          </dl>
        </>
      ) : (
        <p aria-busy="true">Loading…</p>
      )}

      <h3>Exposed ports</h3>
      {ports.length === 0 ? (
        <p>No port is exposed.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Port</th>
              <th scope="col">URL</th>
              <th scope="col">Access</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {ports.map((p) => (
              <tr key={p.port}>
                <td>{p.port}</td>
                <td>
                  <a href={p.url} target="_blank" rel="noopener noreferrer">
                    {p.url}
                  </a>
                </td>
                <td>{p.auth === 'token' ? 'token' : 'anyone'}</td>
                <td>
                  <button
                    type="button"
                    disabled={busy}
                    aria-label={`Revoke port ${p.port}`}
                    onClick={() => act(() => api.revoke(id, p.port).then(loadPorts))}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          act(async () => {
            const exposed = await api.expose(id, { port: Number(port), auth });
            setIssuedToken(exposed.token);
            setPort('');
            await loadPorts();
          });
        }}
      >
        <label>
          Port
          <input type="number" min="1" max="65535" required value={port} onInput={(e) => setPort(e.currentTarget.value)} />
        </label>
        <label>
          Access
          <select value={auth} onChange={(e) => setAuth(e.currentTarget.value as 'public' | 'token')}>
            <option value="public">Anyone with the URL</option>
            <option value="token">Token required</option>
          </select>
        </label>
        <button type="submit" disabled={busy}>
          Expose
        </button>
      </form>
      {issuedToken && (
        <p role="status">
          The port's token (shown once): <code>{issuedToken}</code>
        </p>
      )}
    </section>
  );
}
