// The control plane and a gateway over either driver, for the tests that must hold on both: the process
// driver (anywhere) and the sandbox driver (root on Linux: runc, nftables, the `host` image, no warm pool).
import { lchown, lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGateway, type Gateway } from '@cove/gateway';
import { SandboxDriver } from '@cove/sandbox';
import pino from 'pino';
import { IMAGES_DIR, skipReason } from '../../../sandbox/test/helpers.js';
import { startTestControlPlane, type TestControlPlane } from './control-plane.js';

export type DriverKind = 'process' | 'sandbox';

export interface DriverVariant {
  kind: DriverKind;
  /** For a describe block's title: the driver, and the reason when it is skipped. */
  title: string;
  /** Why the variant cannot run here. Only ever set outside CI: in CI it runs, and fails with the reason. */
  skip: string | undefined;
  /** The image a create names on this driver: the sandbox runs the `host` image (no download); else the default. */
  image: string | undefined;
  /** What a workspace create (wire shape) adds on this driver: that image, and small limits on the sandbox. */
  workspace: Record<string, unknown>;
}

/** Why the sandbox cannot run here (undefined when it can); in CI the same check throws, failing the variant. */
let sandboxSkip: string | undefined;
let sandboxError: unknown;
try {
  sandboxSkip = skipReason();
} catch (err) {
  sandboxError = err;
}

/** Both drivers: tests run once per variant, the sandbox one skipped (with its reason) only outside CI. */
export function driverVariants(): DriverVariant[] {
  return [
    { kind: 'process', title: 'process driver', skip: undefined, image: undefined, workspace: {} },
    {
      kind: 'sandbox',
      title: `sandbox driver${sandboxSkip ? ` (skipped: ${sandboxSkip})` : ''}`,
      skip: sandboxSkip,
      image: 'host',
      workspace: { image: 'host', memory_mb: 512, disk_size_mb: 256 },
    },
  ];
}

export interface TestStack extends TestControlPlane {
  kind: DriverKind;
  gateway: Gateway;
  gatewayURL: string;
  /** Where the host sees `file` (an absolute path inside workspace `id`): the workspace's root file system. */
  hostPath(id: string, file: string): string;
  /**
   * Gives what the host made at `file` (recursively) to the workspace's root, as if it had made it: in a
   * sandbox the host's root is no one inside (files it writes show as nobody's and root inside cannot
   * write into its directories). Nothing to do for the process driver.
   */
  handOver(id: string, file: string): Promise<void>;
  /** Stops the gateway and the control plane, then removes every workspace the driver made. */
  close(): Promise<void>;
}

/**
 * A control plane on `kind`'s driver and a gateway in front of it (no route cache, so changes are seen at
 * once). `slot` gives a sandbox its own subnet (10.85.<slot>.0/24), nftables table and cgroup parent, so
 * test files run in parallel; pick one per file.
 */
export async function startTestStack(
  kind: DriverKind,
  slot: number,
  options: Pick<NonNullable<Parameters<typeof startTestControlPlane>[0]>, 'limits' | 'imageImport' | 'archiveUpload'> & {
    /** The sandbox's images directory (default the machine's shared one). */
    imagesDir?: string;
  } = {},
): Promise<TestStack> {
  const log = pino({ level: process.env.COVE_TEST_LOG ?? 'silent' });
  let sandbox: { driver: SandboxDriver; dataDir: string } | undefined;
  if (kind === 'sandbox') {
    if (sandboxError !== undefined) throw sandboxError;
    if (sandboxSkip !== undefined) throw new Error(`the sandbox driver cannot run here: ${sandboxSkip}`);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), `cove-stack-${slot}-`));
    const driver = await SandboxDriver.open({
      dataDir,
      imagesDir: options.imagesDir ?? IMAGES_DIR,
      subnet: `10.85.${slot}.0/24`,
      nftTable: `cove_stack${slot}`,
      cgroupParent: `cove-stack${slot}`,
      stopTimeoutMs: 2000,
      log,
      // A test run's claim on its subnet ends with it: a crashed run cannot refuse the next one.
      ephemeralNetwork: true,
    });
    sandbox = { driver, dataDir };
  }
  const { imagesDir: _, ...cpOptions } = options;
  const t = await startTestControlPlane({ ...cpOptions, ...(sandbox ? { driver: sandbox.driver } : {}) });
  const gateway = createGateway({ routes: t.store, secret: t.cp.context.jwtSecret, routeCacheMs: 0, logger: log });
  const gatewayURL = await gateway.listen('127.0.0.1', 0);
  const hostPath = (id: string, file: string): string => {
    if (!sandbox) return file;
    const rootfs = sandbox.driver.rootfsOf(id);
    if (!rootfs) throw new Error(`no sandbox workspace ${id}`);
    return path.join(rootfs, file);
  };
  return {
    ...t,
    kind,
    gateway,
    gatewayURL,
    hostPath,
    async handOver(id, file) {
      if (!sandbox) return;
      const range = sandbox.driver.idRangeOf(id);
      if (!range) throw new Error(`no sandbox workspace ${id}`);
      await chownTree(hostPath(id, file), range.base, range.base);
    },
    async close() {
      await gateway.close();
      await t.close();
      if (sandbox) {
        await sandbox.driver.destroyAll();
        await rm(sandbox.dataDir, { recursive: true, force: true });
      }
    },
  };
}

async function chownTree(file: string, uid: number, gid: number): Promise<void> {
  await lchown(file, uid, gid);
  if (!(await lstat(file)).isDirectory()) return;
  for (const name of await readdir(file)) await chownTree(path.join(file, name), uid, gid);
}
