import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { afterAll, beforeAll, describe } from 'vitest';
import { startTestAgent, type TestAgent } from '../../../packages/agent/test/helpers/agent.js';
import { type DriverVariant, driverVariants } from '../../../packages/api/test/helpers/driver-stack.js';
import { type DriverWorkspace, openDriverWorkspace } from '../../../packages/api/test/helpers/driver-workspace.js';

/** A real agent on port 0 and the official SDK's `Runtime` pointed straight at it (raw token, as workspace-to-workspace code does). */
export async function startOfficialRuntime(): Promise<{ t: TestAgent; rt: Runtime }> {
  const t = await startTestAgent();
  return { t, rt: new Runtime({ token: t.token, baseUrl: t.url }) };
}

/** A workspace the official SDK's `Runtime` drives, on one driver. */
export type OfficialWorkspace = DriverWorkspace<Runtime>;

/**
 * The process variant: an agent on port 0, the SDK straight at it (raw token). The sandbox variant: the
 * whole path a user takes — the official SDK creates a workspace through the control plane (sandbox
 * driver, `host` image), enables its API access and public access, and its `Runtime` goes through the
 * gateway to the agent inside the workspace. `slot` keeps each file's sandbox apart (see startTestStack).
 */
export function openOfficialWorkspace(variant: DriverVariant, slot: number): Promise<OfficialWorkspace> {
  return openDriverWorkspace(variant, slot, {
    direct: (agent) => new Runtime({ token: agent.token, baseUrl: agent.url }),
    async throughGateway(stack) {
      const client = new Oblien({ clientId: stack.client.clientId, clientSecret: stack.client.clientSecret, baseUrl: stack.url });
      const ws = (await client.workspaces.create({ name: 'compat', ...variant.workspace } as never)) as unknown as { id: string };
      const { token } = await client.workspaces.apiAccess.enable(ws.id);
      if (!token) throw new Error('apiAccess.enable gave no token');
      await client.workspaces.network.update(ws.id, { public_access: true });
      return { id: ws.id, rt: new Runtime({ token, baseUrl: stack.gatewayURL }) };
    },
  });
}

/**
 * The frame of every compat file: one describe per driver (the sandbox one skipped with its reason where it
 * cannot run, and failing in CI), around one workspace opened before its tests and closed after them. `tests`
 * gets the workspace as a handle whose fields are read when a test runs (the workspace opens in `beforeAll`).
 * Hooks `tests` registers run after the workspace opened, and theirs `afterAll` before it closes (vitest's
 * default `sequence.hooks: 'stack'` runs after-hooks in reverse order).
 */
export function describeOnEachDriver(
  slot: number,
  title: (variant: DriverVariant) => string,
  tests: (w: OfficialWorkspace, variant: DriverVariant) => void,
): void {
  for (const variant of driverVariants()) {
    describe.skipIf(variant.skip)(title(variant), () => {
      let opened: OfficialWorkspace | undefined;
      const current = (): OfficialWorkspace => {
        if (!opened) throw new Error(`the ${variant.title} workspace is not open (its beforeAll failed)`);
        return opened;
      };
      beforeAll(async () => {
        opened = await openOfficialWorkspace(variant, slot);
      }, 120_000);
      afterAll(async () => {
        await opened?.close();
      }, 120_000);
      tests(
        {
          get rt() {
            return current().rt;
          },
          get workdir() {
            return current().workdir;
          },
          hostPath: (file) => current().hostPath(file),
          handOver: (file) => current().handOver(file),
          close: () => current().close(),
        },
        variant,
      );
    });
  }
}
