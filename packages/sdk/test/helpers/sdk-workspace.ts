import path from 'node:path';
import { Oblien, Runtime } from '@cove/sdk';
import { startTestAgent } from '../../../agent/test/helpers/agent.js';
import { type DriverVariant, startTestStack } from '../../../api/test/helpers/driver-stack.js';

/** A workspace `@cove/sdk`'s `Runtime` drives, on one driver. */
export interface SdkWorkspace {
  rt: Runtime;
  /** The agent's working directory (relative paths resolve against it). */
  workdir: string;
  /** Where the host sees a path of the workspace, to set up and check files behind the API's back. */
  hostPath(file: string): string;
  close(): Promise<void>;
}

/**
 * The process variant: an agent on port 0 and a `Runtime` straight at it (raw token). The sandbox
 * variant: the SDK creates a workspace through the control plane (sandbox driver, `host` image), enables
 * its API and public access, and `client.workspaces.runtime()` goes through the gateway to the agent
 * inside. `slot` keeps each file's sandbox apart (see startTestStack).
 */
export async function openSdkWorkspace(variant: DriverVariant, slot: number): Promise<SdkWorkspace> {
  if (variant.kind === 'process') {
    const t = await startTestAgent();
    return { rt: new Runtime({ baseURL: t.url, token: t.token }), workdir: t.workdir, hostPath: (file) => file, close: () => t.close() };
  }
  const stack = await startTestStack(variant.kind, slot);
  try {
    const client = new Oblien({ ...stack.client, baseURL: stack.url, gatewayURL: stack.gatewayURL });
    const ws = await client.workspaces.create({ name: 'sdk', ...(variant.image ? { image: variant.image } : {}) });
    await client.workspaces.apiAccess.enable(ws.id);
    await client.workspaces.network.update(ws.id, { public_access: true });
    const workdir = '/root';
    return {
      rt: await client.workspaces.runtime(ws.id),
      workdir,
      hostPath: (file) => stack.hostPath(ws.id, path.resolve(workdir, file)),
      close: () => stack.close(),
    };
  } catch (err) {
    await stack.close();
    throw err;
  }
}
