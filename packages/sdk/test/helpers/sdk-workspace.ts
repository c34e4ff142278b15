import { Oblien, Runtime } from '@cove/sdk';
import type { DriverVariant } from '../../../api/test/helpers/driver-stack.js';
import { type DriverWorkspace, openDriverWorkspace } from '../../../api/test/helpers/driver-workspace.js';

/** A workspace `@cove/sdk`'s `Runtime` drives, on one driver. */
export type SdkWorkspace = DriverWorkspace<Runtime>;

/**
 * The process variant: an agent on port 0 and a `Runtime` straight at it (raw token). The sandbox
 * variant: the SDK creates a workspace through the control plane (sandbox driver, `host` image), enables
 * its API and public access, and `client.workspaces.runtime()` goes through the gateway to the agent
 * inside. `slot` keeps each file's sandbox apart (see startTestStack).
 */
export function openSdkWorkspace(variant: DriverVariant, slot: number): Promise<SdkWorkspace> {
  return openDriverWorkspace(variant, slot, {
    direct: (agent) => new Runtime({ baseURL: agent.url, token: agent.token }),
    async throughGateway(stack) {
      const client = new Oblien({ ...stack.client, baseURL: stack.url, gatewayURL: stack.gatewayURL });
      const ws = await client.workspaces.create({ name: 'sdk', ...(variant.image ? { image: variant.image } : {}) });
      await client.workspaces.apiAccess.enable(ws.id);
      await client.workspaces.network.update(ws.id, { public_access: true });
      return { id: ws.id, rt: await client.workspaces.runtime(ws.id) };
    },
  });
}
