import { useEffect, useState } from 'preact/hooks';
import { api, onSignedOut, type Session } from './api.js';
import { messageOf, useHashRoute } from './hooks.js';
import { SignIn } from './sign-in.js';
import { WorkspaceList } from './workspace-list.js';
import { WorkspacePage } from './workspace-page.js';

/** Signed out: the sign-in form. Signed in: the header and the page the address names. */
export function App() {
  const [session, setSession] = useState<Session | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const route = useHashRoute();

  useEffect(() => {
    api
      .session()
      .then(setSession)
      .catch((err) => setError(messageOf(err)));
    return onSignedOut(() => setSession({ signed_in: false }));
  }, []);

  if (error) return <p role="alert">The console cannot reach the control plane: {error}</p>;
  if (!session) return <p aria-busy="true">Loading…</p>;
  if (!session.signed_in) return <SignIn onSignedIn={setSession} />;

  const signOut = async () => {
    await api.signOut().catch(() => {});
    setSession({ signed_in: false });
    location.hash = '#/';
  };

  const [section, id] = route;
  return (
    <>
      <header class="top">
        <a class="brand" href="#/">
          Cove
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={section === undefined ? 'page' : undefined}>
            Workspaces
          </a>
        </nav>
        <span class="who">
          Signed in as <strong>{session.owner}</strong>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {section === 'w' && id ? (
          <WorkspacePage key={id} id={id} tab={route[2] ?? 'overview'} gatewayUrl={session.gateway_url ?? ''} />
        ) : (
          <WorkspaceList />
        )}
      </main>
    </>
  );
}
