// A gateway in the control plane's process (`cove up`) drops a workspace's cached route when the control plane
// changes it: a request right after a pause wakes the workspace instead of going to its frozen agent, one right
// after a stop, a start or a removal sees that. The gateway's route cache is kept for an hour here, so that
// only being told can explain a request seeing the change.
import { createGateway, type Gateway } from '@cove/gateway';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from './helpers/control-plane.js';
import { expectRequestWakesPaused, openAgent } from './helpers/lifecycle.js';

describe("a lifecycle change drops the workspace's cached route in a gateway in the same process", () => {
  let t: TestControlPlane;
  let gateway: Gateway | undefined;
  let gatewayURL: string;
  /** A request through the gateway; a hang (a frozen agent) fails it instead of the whole file. */
  const runtime = (jwt: string) =>
    fetch(`${gatewayURL}/runtime`, { headers: { authorization: `Bearer ${jwt}` }, signal: AbortSignal.timeout(20_000) });

  beforeAll(async () => {
    t = await startTestControlPlane({ routeChanged: (id) => gateway?.routeChanged(id) });
    gateway = createGateway({
      routes: t.cp.routes,
      secret: t.cp.context.jwtSecret,
      routeCacheMs: 3_600_000,
      logger: pino({ level: 'silent' }),
    });
    gatewayURL = await gateway.listen('127.0.0.1', 0);
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await t?.close();
  }, 60_000);

  it('a request right after a pause wakes the workspace (its route was cached running)', async () => {
    const id = await t.createWorkspace();
    const { jwt } = await openAgent(t, id);
    expect((await runtime(jwt)).status).toBe(200);
    await expectRequestWakesPaused(t, id, () => runtime(jwt));
  });

  it("a user's stop is seen at once, and so is the start after it; a removal too", async () => {
    const id = await t.createWorkspace();
    const { jwt } = await openAgent(t, id);
    expect((await runtime(jwt)).status).toBe(200);
    expect((await t.json('POST', `/workspace/${id}/stop`)).body.status).toBe('stopped');
    const stopped = await runtime(jwt);
    expect(stopped.status).toBe(503);
    expect(await stopped.json()).toMatchObject({ error: expect.stringMatching(/stopped|not running/) });
    expect((await t.json('POST', `/workspace/${id}/start`)).body.status).toBe('running');
    // Started, the workspace serves again (the stopped route cached a moment ago is gone).
    expect((await runtime(jwt)).status).toBe(200);
    expect((await t.json('DELETE', `/workspace/${id}`)).status).toBe(200);
    const removed = await runtime(jwt);
    expect(removed.status).toBe(401);
    expect(await removed.json()).toMatchObject({ error: 'invalid token: unknown workspace' });
  });
});
