import path from 'node:path';
import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { startTestAgent, type TestAgent } from '../../../packages/agent/test/helpers/agent.js';
import { type DriverVariant, startTestStack } from '../../../packages/api/test/helpers/driver-stack.js';

/** A real agent on port 0 and the official SDK's `Runtime` pointed straight at it (raw token, as workspace-to-workspace code does). */
export async function startOfficialRuntime(): Promise<{ t: TestAgent; rt: Runtime }> {
  const t = await startTestAgent();
  return { t, rt: new Runtime({ token: t.token, baseUrl: t.url }) };
}

/** A workspace the official SDK's `Runtime` drives, on one driver. */
export interface OfficialWorkspace {
  rt: Runtime;
  /** The agent's working directory (relative paths resolve against it). */
  workdir: string;
  /** Where the host sees a path of the workspace, to set up and check files behind the API's back. */
  hostPath(file: string): string;
  close(): Promise<void>;
}

/**
 * The process variant: an agent on port 0, the SDK straight at it (raw token). The sandbox variant: the
 * whole path a user takes — the official SDK creates a workspace through the control plane (sandbox
 * driver, `host` image), enables its API access and public access, and its `Runtime` goes through the
 * gateway to the agent inside the workspace. `slot` keeps each file's sandbox apart (see startTestStack).
 */
export async function openOfficialWorkspace(variant: DriverVariant, slot: number): Promise<OfficialWorkspace> {
  if (variant.kind === 'process') {
    const { t, rt } = await startOfficialRuntime();
    return { rt, workdir: t.workdir, hostPath: (file) => file, close: () => t.close() };
  }
  const stack = await startTestStack(variant.kind, slot);
  try {
    const client = new Oblien({ clientId: stack.client.clientId, clientSecret: stack.client.clientSecret, baseUrl: stack.url });
    const ws = (await client.workspaces.create({ name: 'compat', ...variant.workspace } as never)) as unknown as { id: string };
    const { token } = await client.workspaces.apiAccess.enable(ws.id);
    if (!token) throw new Error('apiAccess.enable gave no token');
    await client.workspaces.network.update(ws.id, { public_access: true });
    const workdir = '/root';
    return {
      rt: new Runtime({ token, baseUrl: stack.gatewayURL }),
      workdir,
      hostPath: (file) => stack.hostPath(ws.id, path.resolve(workdir, file)),
      close: () => stack.close(),
    };
  } catch (err) {
    await stack.close();
    throw err;
  }
}
