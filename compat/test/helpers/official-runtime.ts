import { Runtime } from 'oblien/runtime';
import { startTestAgent, type TestAgent } from '../../../packages/agent/test/helpers/agent.js';
import type { DriverVariant } from '../../../packages/api/test/helpers/driver-stack.js';
import { type DriverWorkspace, openDriverWorkspace } from '../../../packages/api/test/helpers/driver-workspace.js';
import { describeEachDriver } from './each-driver.js';
import { createWorkspace, gatewayRuntime, officialClient } from './official-stack.js';

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
      const client = officialClient(stack);
      const id = await createWorkspace(client, variant, { name: 'compat' });
      return { id, rt: await gatewayRuntime({ t: stack, client }, id) };
    },
  });
}

/**
 * The frame of every compat file that drives a workspace's runtime: one describe per driver around one
 * workspace opened before its tests and closed after them (`describeEachDriver`). `tests` gets the workspace
 * as a handle whose fields are read when a test runs.
 */
export function describeOnEachDriver(
  slot: number,
  title: (variant: DriverVariant) => string,
  tests: (w: OfficialWorkspace, variant: DriverVariant) => void,
): void {
  describeEachDriver(
    title,
    (variant) => openOfficialWorkspace(variant, slot),
    (w) => w.close(),
    (current, variant) =>
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
      ),
  );
}
