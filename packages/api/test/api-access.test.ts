import { loadGatewaySecret, verifyGatewayJwt } from '@cove/api';
import { SESSION_TOKEN_TTL_SECONDS, WORKSPACE_TOKEN_TTL_SECONDS } from '@cove/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';

let t: TestControlPlane;
let secret: Uint8Array;

beforeAll(async () => {
  t = await startTestControlPlane();
  secret = await loadGatewaySecret(t.store);
});
afterAll(async () => {
  await t?.close();
});

async function agentStatus(ip: string, port: number, token: string): Promise<number | string> {
  try {
    const res = await fetch(`http://${ip}:${port}/runtime`, { headers: { authorization: `Bearer ${token}` } });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return ((err as Error & { cause?: { code?: string } }).cause?.code ?? 'error') as string;
  }
}

describe.each(['internal-api-access', 'runtime-api-access'])('/workspace/:id/%s', (prefix) => {
  let id: string;
  beforeAll(async () => {
    id = await t.createWorkspace({ name: `access-${prefix}` });
  });

  it('reports disabled before enable, and token operations are 409 until then', async () => {
    const status = await t.json('GET', `/workspace/${id}/${prefix}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      success: true,
      workspace_id: id,
      enabled: false,
      running: false,
      token_expires_at: null,
      ip: null,
      port: null,
    });
    for (const [method, sub] of [
      ['GET', 'token'],
      ['POST', 'token'],
      ['GET', 'token/raw'],
      ['POST', 'reconnect'],
      ['POST', 'workspace'],
    ] as const) {
      const res = await t.json(method, `/workspace/${id}/${prefix}/${sub}`);
      expect(res.status, `${method} ${sub}`).toBe(409);
      expect(res.body).toEqual({
        success: false,
        code: 'conflict',
        error: `internal API access is not enabled on workspace '${id}'; enable it first`,
      });
    }
  });

  it('enable starts the agent and returns a gateway JWT of ≥ 60 min; enable again is idempotent', async () => {
    const first = await t.json('POST', `/workspace/${id}/${prefix}/enable`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      success: true,
      enabled: true,
      token_type: 'gateway',
      kind: 'session',
      expires_in: SESSION_TOKEN_TTL_SECONDS,
    });
    const claims = await verifyGatewayJwt(secret, first.body.token);
    expect(claims).toMatchObject({ wid: id, ip: '127.0.0.1', kind: 'session', gen: first.body.token_generation });
    expect(claims.exp - claims.iat).toBeGreaterThanOrEqual(3600);

    const raw = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(raw.status).toBe(200);
    expect(raw.body).toEqual({
      success: true,
      workspace_id: id,
      token: expect.stringMatching(/^[0-9a-f]{64}$/),
      ip: '127.0.0.1',
      port: claims.port,
    });
    expect(await agentStatus(raw.body.ip, raw.body.port, raw.body.token)).toBe(200);

    const again = await t.json('POST', `/workspace/${id}/${prefix}/enable`);
    expect(again.status).toBe(200);
    expect(again.body.port).toBe(raw.body.port);
    expect(again.body.token_generation).toBe(first.body.token_generation);
    const rawAgain = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(rawAgain.body.token).toBe(raw.body.token);

    const status = await t.json('GET', `/workspace/${id}/${prefix}`);
    expect(status.body).toMatchObject({ enabled: true, running: true, token_type: 'gateway', port: raw.body.port, ip: '127.0.0.1' });
    expect(Date.parse(status.body.token_expires_at)).toBeGreaterThan(Date.now() + 59 * 60 * 1000);
  });

  it('GET token is read-only: a fresh JWT of the same generation; raw token unchanged', async () => {
    const before = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    const got = await t.json('GET', `/workspace/${id}/${prefix}/token`);
    expect(got.status).toBe(200);
    const claims = await verifyGatewayJwt(secret, got.body.token);
    const status = await t.json('GET', `/workspace/${id}/${prefix}`);
    expect(claims.gen).toBe(status.body.token_generation);
    expect(claims.exp - claims.iat).toBe(SESSION_TOKEN_TTL_SECONDS);
    const after = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(after.body.token).toBe(before.body.token);
  });

  it('a token asked for while enable is starting the agent waits for it, never "no running agent"', async () => {
    const fresh = await t.createWorkspace({ name: `race-${prefix}` });
    const enabling = t.json('POST', `/workspace/${fresh}/${prefix}/enable`);
    let done = false;
    void enabling.finally(() => {
      done = true;
    });
    const answers: Array<{ status: number; message?: string }> = [];
    while (!done) {
      const [token, raw] = await Promise.all([
        t.json('GET', `/workspace/${fresh}/${prefix}/token`),
        t.json('GET', `/workspace/${fresh}/${prefix}/token/raw`),
      ]);
      answers.push({ status: token.status, message: token.body.message }, { status: raw.status, message: raw.body.message });
    }
    expect((await enabling).status).toBe(200);
    // Before the enable is recorded: "not enabled"; from then on the answer waits for the agent's address.
    for (const a of answers) {
      if (a.status !== 200) expect(a).toMatchObject({ status: 409, message: expect.stringContaining('not enabled') });
    }
  });

  it('rotate: the old raw token is refused by the agent at once, the new one works, the generation goes up', async () => {
    const old = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    const oldStatus = await t.json('GET', `/workspace/${id}/${prefix}`);
    const rotated = await t.json('POST', `/workspace/${id}/${prefix}/token`);
    expect(rotated.status).toBe(200);
    const claims = await verifyGatewayJwt(secret, rotated.body.token);
    expect(claims.gen).toBe(oldStatus.body.token_generation + 1);
    const fresh = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(fresh.body.token).not.toBe(old.body.token);
    expect(fresh.body.port).toBe(old.body.port);
    expect(await agentStatus(old.body.ip, old.body.port, old.body.token)).toBe(401);
    expect(await agentStatus(fresh.body.ip, fresh.body.port, fresh.body.token)).toBe(200);
    const route = await t.store.getRoute(id);
    expect(route).toMatchObject({ generation: claims.gen, rawToken: fresh.body.token, enabled: true, running: true });
  });

  it('the 30-day token carries kind "workspace" and the current generation', async () => {
    const res = await t.json('POST', `/workspace/${id}/${prefix}/workspace`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, kind: 'workspace', expires_in: WORKSPACE_TOKEN_TTL_SECONDS });
    const claims = await verifyGatewayJwt(secret, res.body.token);
    expect(claims.kind).toBe('workspace');
    expect(claims.exp - claims.iat).toBe(30 * 24 * 3600);
  });

  it('reconnect restarts a dead agent and returns a JWT for its address', async () => {
    const raw = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    await t.cp.context.driver.stopAgent(id);
    expect(await agentStatus(raw.body.ip, raw.body.port, raw.body.token)).toBe('ECONNREFUSED');
    const res = await t.json('POST', `/workspace/${id}/${prefix}/reconnect`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ success: true, enabled: true, reconnected: true });
    const again = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(again.body.token).toBe(raw.body.token);
    expect(await agentStatus(again.body.ip, again.body.port, again.body.token)).toBe(200);
  });

  it('disable stops the agent, bumps the generation and drops the raw token; enabling again issues a new one', async () => {
    const raw = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    const before = await t.json('GET', `/workspace/${id}/${prefix}`);
    const res = await t.json('POST', `/workspace/${id}/${prefix}/disable`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ success: true, workspace_id: id, enabled: false, token_generation: before.body.token_generation + 1 });
    expect(await agentStatus(raw.body.ip, raw.body.port, raw.body.token)).toBe('ECONNREFUSED');
    const status = await t.json('GET', `/workspace/${id}/${prefix}`);
    expect(status.body).toMatchObject({ enabled: false, running: false });
    expect((await t.store.getRoute(id))?.enabled).toBe(false);
    const again = await t.json('POST', `/workspace/${id}/${prefix}/disable`);
    expect(again.status).toBe(200);

    const enabled = await t.json('POST', `/workspace/${id}/${prefix}/enable`);
    expect(enabled.status).toBe(200);
    const fresh = await t.json('GET', `/workspace/${id}/${prefix}/token/raw`);
    expect(fresh.body.token).not.toBe(raw.body.token);
    expect(await agentStatus(fresh.body.ip, fresh.body.port, raw.body.token)).toBe(401);
    expect(await agentStatus(fresh.body.ip, fresh.body.port, fresh.body.token)).toBe(200);
  });
});

describe('access on a stopped workspace', () => {
  it('enable is 409 while stopped; start brings the agent back with the same token', async () => {
    const id = await t.createWorkspace();
    expect((await t.json('POST', `/workspace/${id}/internal-api-access/enable`)).status).toBe(200);
    const raw = await t.json('GET', `/workspace/${id}/internal-api-access/token/raw`);
    expect((await t.json('POST', `/workspace/${id}/stop`)).status).toBe(200);
    expect(await agentStatus(raw.body.ip, raw.body.port, raw.body.token)).toBe('ECONNREFUSED');
    expect((await t.store.getRoute(id))?.running).toBe(false);
    const enable = await t.json('POST', `/workspace/${id}/internal-api-access/enable`);
    expect(enable.status).toBe(409);
    expect(enable.body).toEqual({ success: false, code: 'conflict', error: `workspace '${id}' is stopped; start it first` });
    expect((await t.json('GET', `/workspace/${id}/internal-api-access/token/raw`)).status).toBe(409);
    expect((await t.json('POST', `/workspace/${id}/start`)).status).toBe(200);
    const after = await t.json('GET', `/workspace/${id}/internal-api-access/token/raw`);
    expect(after.body.token).toBe(raw.body.token);
    expect(await agentStatus(after.body.ip, after.body.port, after.body.token)).toBe(200);
  });

  it('another client cannot touch the workspace: 404, never 401/403', async () => {
    const id = await t.createWorkspace();
    const bob = await t.newClient('bob');
    for (const [method, sub] of [
      ['GET', ''],
      ['POST', '/enable'],
      ['POST', '/disable'],
      ['POST', '/token'],
      ['GET', '/token'],
      ['GET', '/token/raw'],
      ['POST', '/reconnect'],
      ['POST', '/workspace'],
    ] as const) {
      const res = await t.json(method, `/workspace/${id}/runtime-api-access${sub}`, { auth: bob });
      expect(res.status, `${method} ${sub}`).toBe(404);
      expect(res.body).toEqual({ success: false, code: 'not_found', error: `workspace '${id}' not found` });
    }
  });

  it('unknown paths under the prefix are 404, wrong methods 405', async () => {
    const id = await t.createWorkspace();
    const res = await t.json('DELETE', `/workspace/${id}/internal-api-access/enable`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await t.json('GET', `/workspace/${id}/internal-api-access/nope`)).status).toBe(404);
  });
});
