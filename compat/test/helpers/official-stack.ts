import { Oblien } from 'oblien';
import { Runtime } from 'oblien/runtime';
import { type DriverVariant, startTestStack, type TestStack } from '../../../packages/api/test/helpers/driver-stack.js';
import { describeEachDriver } from './each-driver.js';

/** A control plane on one driver and the official SDK's client of it. */
export interface OfficialStack {
  /** The control plane, its gateway and its driver. */
  readonly t: TestStack;
  /** The official SDK as the stack's account (`alice`). */
  readonly client: Oblien;
}

/** The official SDK as `account` (default the stack's own). */
export function officialClient(t: TestStack, account: { clientId: string; clientSecret: string } = t.client): Oblien {
  return new Oblien({ clientId: account.clientId, clientSecret: account.clientSecret, baseUrl: t.url });
}

/** Creates a workspace through the official SDK with what the driver needs (`variant.workspace`); gives its id. */
export async function createWorkspace(client: Oblien, variant: DriverVariant, body: Record<string, unknown>): Promise<string> {
  const ws = (await client.workspaces.create({ ...variant.workspace, ...body } as never)) as unknown as { id: string };
  return ws.id;
}

/** The official SDK's `Runtime` of workspace `id` through the gateway: its API access enabled, public access on. */
export async function gatewayRuntime(s: OfficialStack, id: string): Promise<Runtime> {
  const { token } = await s.client.workspaces.apiAccess.enable(id);
  if (!token) throw new Error('apiAccess.enable gave no token');
  await s.client.workspaces.network.update(id, { public_access: true });
  return new Runtime({ token, baseUrl: s.t.gatewayURL });
}

/**
 * The frame of a compat file that drives the control plane: one describe per driver around a control plane
 * started before its tests (`startTestStack`, `options` its options) and closed after them. `tests` gets the
 * stack as a handle whose fields are read when a test runs; the hooks it registers run after the stack
 * started and before it closes.
 */
export function describeOfficialStack(
  slot: number,
  title: (variant: DriverVariant) => string,
  tests: (s: OfficialStack, variant: DriverVariant) => void,
  options: (variant: DriverVariant) => Parameters<typeof startTestStack>[2] = () => ({}),
): void {
  describeEachDriver(
    title,
    async (variant): Promise<OfficialStack> => {
      const t = await startTestStack(variant.kind, slot, options(variant));
      return { t, client: officialClient(t) };
    },
    (s) => s.t.close(),
    (current, variant) =>
      tests(
        {
          get t() {
            return current().t;
          },
          get client() {
            return current().client;
          },
        },
        variant,
      ),
  );
}
