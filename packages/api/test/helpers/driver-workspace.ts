// One workspace an SDK's `Runtime` drives, on either driver: what the official `oblien` SDK's compat tests and
// `@cove/sdk`'s own tests share. Each SDK says only how it reaches the workspace (its own client and Runtime),
// so neither SDK is mixed into the other's tests.
import path from 'node:path';
import { startTestAgent } from '../../../agent/test/helpers/agent.js';
import { type DriverVariant, startTestStack, type TestStack } from './driver-stack.js';

/** A workspace `R` (an SDK's Runtime) drives, on one driver. */
export interface DriverWorkspace<R> {
  rt: R;
  /** The agent's working directory (relative paths resolve against it). */
  workdir: string;
  /** Where the host sees a path of the workspace, to set up and check files behind the API's back. */
  hostPath(file: string): string;
  /** Gives what the host made at `file` to the workspace's root (see TestStack.handOver). */
  handOver(file: string): Promise<void>;
  close(): Promise<void>;
}

/** How one SDK reaches a workspace. */
export interface SdkAccess<R> {
  /** The process variant: a Runtime straight at an agent (its URL and raw token, as workspace-to-workspace code does). */
  direct(agent: { url: string; token: string }): R;
  /**
   * The sandbox variant: through the control plane, create a workspace (named, with `variant`'s image and limits),
   * enable its API access and public access; its Runtime goes through the gateway.
   */
  throughGateway(stack: TestStack, variant: DriverVariant): Promise<{ id: string; rt: R }>;
}

/** Inside a sandboxed workspace: the `host` image's root home. */
const SANDBOX_WORKDIR = '/root';

/**
 * The process variant: an agent on port 0, the Runtime straight at it. The sandbox variant: the whole path a user
 * takes, control plane (sandbox driver) then gateway to the agent inside. `slot` keeps each file's sandbox apart
 * (see startTestStack).
 */
export async function openDriverWorkspace<R>(variant: DriverVariant, slot: number, sdk: SdkAccess<R>): Promise<DriverWorkspace<R>> {
  if (variant.kind === 'process') {
    const t = await startTestAgent();
    return { rt: sdk.direct(t), workdir: t.workdir, hostPath: (file) => file, handOver: async () => {}, close: () => t.close() };
  }
  const stack = await startTestStack(variant.kind, slot);
  try {
    const { id, rt } = await sdk.throughGateway(stack, variant);
    return {
      rt,
      workdir: SANDBOX_WORKDIR,
      hostPath: (file) => stack.hostPath(id, path.resolve(SANDBOX_WORKDIR, file)),
      handOver: (file) => stack.handOver(id, path.resolve(SANDBOX_WORKDIR, file)),
      close: () => stack.close(),
    };
  } catch (err) {
    await stack.close();
    throw err;
  }
}
