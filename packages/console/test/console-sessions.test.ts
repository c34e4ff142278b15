// The console's session endpoints and its cookie on the API, over real HTTP against a control plane: sign-in,
// the cookie's attributes, CSRF refusals (no header, a foreign origin, a cross-site fetch), bad credentials and
// bodies, expiry (idle and absolute, with the clock moved), revocation, sign-out, and the static files.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../api/test/helpers/control-plane.js';

let t: TestControlPlane;
let host: string;

beforeAll(async () => {
  t = await startTestControlPlane();
  host = new URL(t.url).host;
});

afterAll(async () => {
  await t?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

const CONSOLE = { 'x-cove-console': '1' };

/** Signs in as `client`; returns the cookie pair (`cove_console=…`) and the whole Set-Cookie header. */
async function signIn(client = t.client, headers: Record<string, string> = {}): Promise<{ cookie: string; setCookie: string }> {
  const res = await t.request('POST', '/console/api/session', {
    auth: null,
    headers: { ...CONSOLE, ...headers },
    body: { client_id: client.clientId, client_secret: client.clientSecret },
  });
  expect(res.status).toBe(200);
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: setCookie.split(';')[0] as string, setCookie };
}

/** An API call the way the console makes it: the cookie and the console's header. */
function asConsole(method: string, path: string, cookie: string, extra: Record<string, string> = {}, body?: unknown) {
  return t.json(method, path, { auth: null, headers: { ...CONSOLE, cookie, ...extra }, ...(body !== undefined ? { body } : {}) });
}

describe('console sessions', () => {
  it('a signed-out page asks the session endpoint and gets 200 signed_in false', async () => {
    const res = await t.json('GET', '/console/api/session', { auth: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ signed_in: false });
    const garbage = await t.json('GET', '/console/api/session', {
      auth: null,
      headers: { cookie: 'cove_console=not-a-session-id-at-all' },
    });
    expect(garbage.body).toEqual({ signed_in: false });
  });

  it('signs in once with the client id and secret: an HttpOnly, SameSite=Strict cookie, no secret in the answer', async () => {
    const res = await t.request('POST', '/console/api/session', {
      auth: null,
      headers: { ...CONSOLE, origin: t.url },
      body: { client_id: t.client.clientId, client_secret: t.client.clientSecret },
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(t.client.clientSecret);
    expect(JSON.parse(text)).toMatchObject({ signed_in: true, owner: 'alice', client_id: t.client.clientId });
    const setCookie = res.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^cove_console=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    // Plain http: a Secure cookie would never come back.
    expect(setCookie).not.toContain('Secure');
    expect(res.headers.get('cache-control')).toBe('no-store');

    const cookie = setCookie.split(';')[0] as string;
    const session = await t.json('GET', '/console/api/session', { auth: null, headers: { cookie } });
    expect(session.body).toMatchObject({ signed_in: true, owner: 'alice', gateway_url: expect.stringMatching(/^http/) });
    const list = await asConsole('GET', '/workspace', cookie);
    expect(list.status).toBe(200);
    expect(list.body.success).toBe(true);
  });

  it('a page served over https gets a Secure cookie', async () => {
    const { setCookie } = await signIn(t.client, { origin: `https://${host}` });
    expect(setCookie).toContain('; Secure');
  });

  it('refuses bad credentials with 401 and sets no cookie', async () => {
    const other = await t.newClient('carol');
    for (const body of [
      { client_id: t.client.clientId, client_secret: 'cs_wrong' },
      { client_id: 'cid_000000000000000000000000', client_secret: t.client.clientSecret },
      { client_id: other.clientId, client_secret: t.client.clientSecret },
    ]) {
      const res = await t.request('POST', '/console/api/session', { auth: null, headers: CONSOLE, body });
      expect(res.status).toBe(401);
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.json()).toMatchObject({ success: false, code: 'unauthorized' });
    }
  });

  it('refuses malformed sign-in bodies with 400', async () => {
    for (const body of [
      {},
      { client_id: t.client.clientId },
      { client_id: 1, client_secret: 2 },
      { client_id: t.client.clientId, client_secret: t.client.clientSecret, extra: true },
      { client_id: 'x'.repeat(5000), client_secret: 'y' },
      'not json',
    ]) {
      const res = await t.json('POST', '/console/api/session', { auth: null, headers: CONSOLE, body });
      expect(res.status).toBe(400);
      expect(res.body.success).toBe(false);
    }
  });

  it('CSRF: without the console header, sign-in and sign-out are refused and the cookie alone opens nothing', async () => {
    const noHeader = await t.json('POST', '/console/api/session', {
      auth: null,
      body: { client_id: t.client.clientId, client_secret: t.client.clientSecret },
    });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body).toMatchObject({ success: false, code: 'forbidden' });

    const { cookie } = await signIn();
    const before = (await asConsole('GET', '/workspace', cookie)).body.total as number;
    // A form post from another site would carry the cookie (were it not SameSite) but never the header.
    const created = await t.json('POST', '/workspace', { auth: null, headers: { cookie }, body: { name: 'csrf' } });
    expect(created.status).toBe(401);
    expect((await asConsole('GET', '/workspace', cookie)).body.total).toBe(before);
    const signOut = await t.json('DELETE', '/console/api/session', { auth: null, headers: { cookie } });
    expect(signOut.status).toBe(403);
    expect((await asConsole('GET', '/workspace', cookie)).status).toBe(200);
  });

  it('CSRF: a foreign Origin or a cross-site fetch is refused even with the header', async () => {
    const { cookie } = await signIn();
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: 'null' },
      { origin: `http://${host}.evil.example` },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const res = await asConsole('POST', '/workspace', cookie, headers, { name: 'csrf' });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ success: false, code: 'forbidden' });
      const signInRes = await t.json('POST', '/console/api/session', {
        auth: null,
        headers: { ...CONSOLE, ...headers },
        body: { client_id: t.client.clientId, client_secret: t.client.clientSecret },
      });
      expect(signInRes.status).toBe(403);
    }
    // The same origin passes.
    expect((await asConsole('GET', '/workspace', cookie, { origin: t.url, 'sec-fetch-site': 'same-origin' })).status).toBe(200);
  });

  it('unknown and malformed cookies are refused with 401', async () => {
    for (const cookie of [
      'cove_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'cove_console=../../etc',
      'cove_console=',
      'other=1',
    ]) {
      const res = await asConsole('GET', '/workspace', cookie);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ success: false, code: 'unauthorized' });
    }
  });

  it('a session ends after its idle time, and after its absolute lifetime however busy', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const start = Date.now();
    const idle = await signIn();
    vi.setSystemTime(start + 29 * 60_000);
    expect((await asConsole('GET', '/workspace', idle.cookie)).status).toBe(200);
    // Used at 29 minutes: idle again from there.
    vi.setSystemTime(start + 29 * 60_000 + 30 * 60_000 + 1000);
    const expired = await asConsole('GET', '/workspace', idle.cookie);
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatch(/expired/);
    expect((await t.json('GET', '/console/api/session', { auth: null, headers: { cookie: idle.cookie } })).body).toEqual({
      signed_in: false,
    });

    vi.setSystemTime(start);
    const busy = await signIn();
    for (let minutes = 20; minutes < 12 * 60; minutes += 20) {
      vi.setSystemTime(start + minutes * 60_000);
      expect((await asConsole('GET', '/workspace', busy.cookie)).status).toBe(200);
    }
    vi.setSystemTime(start + 12 * 60 * 60_000 + 1000);
    expect((await asConsole('GET', '/workspace', busy.cookie)).status).toBe(401);
  });

  it('revoking the credential ends its console sessions', async () => {
    const bob = await t.newClient('bob');
    const { cookie } = await signIn(bob);
    expect((await asConsole('GET', '/workspace', cookie)).status).toBe(200);
    await t.store.revokeCredential(bob.clientId, new Date().toISOString());
    const res = await asConsole('GET', '/workspace', cookie);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/revoked/);
  });

  it('sign-out clears the cookie and ends the session on the server', async () => {
    const { cookie } = await signIn();
    const res = await t.request('DELETE', '/console/api/session', { auth: null, headers: { ...CONSOLE, cookie } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ signed_in: false });
    expect(res.headers.get('set-cookie')).toMatch(/^cove_console=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    // The old cookie value, replayed, is worth nothing.
    expect((await asConsole('GET', '/workspace', cookie)).status).toBe(401);
  });

  it('a new sign-in replaces the session the browser had (no fixation)', async () => {
    const first = await signIn();
    const res = await t.request('POST', '/console/api/session', {
      auth: null,
      headers: { ...CONSOLE, cookie: first.cookie },
      body: { client_id: t.client.clientId, client_secret: t.client.clientSecret },
    });
    const second = (res.headers.get('set-cookie') ?? '').split(';')[0] as string;
    expect(second).not.toBe(first.cookie);
    expect((await asConsole('GET', '/workspace', first.cookie)).status).toBe(401);
    expect((await asConsole('GET', '/workspace', second)).status).toBe(200);
  });

  it('client credentials still work as before, and win over a cookie', async () => {
    const res = await t.json('GET', '/workspace', {
      headers: { ...CONSOLE, cookie: 'cove_console=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    expect(res.status).toBe(200);
    const none = await t.json('GET', '/workspace', { auth: null });
    expect(none.status).toBe(401);
    expect(none.body.error).toMatch(/missing credentials/);
  });
});

describe('console files', () => {
  it('serves the built app at /console/ with a strict content security policy', async () => {
    const redirect = await fetch(`${t.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await fetch(`${t.url}/console/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toMatch(/connect-src 'self' http:\/\/\S+ ws:\/\/\S+/);
    const html = await page.text();
    expect(html).toContain('./app.js');
    const script = await fetch(`${t.url}/console/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    // Everything is bundled: no address of another site in the app.
    expect(await script.text()).not.toMatch(/https:\/\/(cdn|unpkg|fonts)\./);
  });

  it('serves only the files it built: no path leads elsewhere', async () => {
    for (const path of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/%2e%2e%2findex.js', '/console/app.js%00.html']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ success: false, code: 'not_found' });
    }
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  });
});
