import { useState } from 'preact/hooks';
import { ApiError, api, type Session } from './api.js';
import { messageOf } from './hooks.js';

/**
 * Client id and secret, sent once: the server answers with an HttpOnly cookie. The secret stays in this form's
 * state only until the answer comes, and is cleared either way.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const session = await api.signIn(clientId.trim(), secret.trim());
      setSecret('');
      onSignedIn(session);
    } catch (err) {
      setSecret('');
      setError(err instanceof ApiError && err.status === 401 ? 'Those credentials are not valid.' : messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="sign-in">
      <h1>Cove console</h1>
      <form onSubmit={submit} aria-describedby="sign-in-help">
        <p id="sign-in-help">
          Sign in with a client id and secret (for <code>cove up</code>: <code>~/.cove/credentials.json</code>).
        </p>
        <label>
          Client id
          <input name="client_id" autocomplete="username" required value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} />
        </label>
        <label>
          Client secret
          <input
            name="client_secret"
            type="password"
            autocomplete="current-password"
            required
            value={secret}
            onInput={(e) => setSecret(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
