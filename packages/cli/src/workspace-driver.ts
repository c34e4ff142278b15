import { totalmem } from 'node:os';
import path from 'node:path';
import { AGENT_BIN } from '@cove/agent/main';
import { ProcessDriver } from '@cove/process-driver';
import type { WorkspaceDriver } from '@cove/protocol';
import { autoWarmPool, WORKSPACE_DEFAULTS } from '@cove/protocol/defaults';
import type { Command } from 'commander';
import type { Logger } from 'pino';
import { CliError } from './cli-error.js';
import { type Settings, settingOption } from './resolve-setting.js';
import { SETTINGS } from './settings.js';

/** The driver flags `cove up` and `cove api` share. */
export function withDriverOptions(command: Command): Command {
  return command
    .addOption(settingOption(SETTINGS.driver, '--driver <name>'))
    .addOption(settingOption(SETTINGS.runtime, '--runtime <command>'))
    .addOption(settingOption(SETTINGS.subnet, '--subnet <cidr>'))
    .addOption(settingOption(SETTINGS.nftTable, '--nft-table <name>'))
    .addOption(settingOption(SETTINGS.imagesDir, '--images-dir <dir>'))
    .addOption(settingOption(SETTINGS.warmPool, '--warm-pool <n>'))
    .addOption(settingOption(SETTINGS.diskOvercommit, '--disk-overcommit <bool>'));
}

/** Which driver `cove up` / `cove api` will open, decided before anything starts (see `chooseDriver`). */
export interface DriverChoice {
  kind: 'sandbox' | 'process';
  /** The OCI runtime setting (the sandbox driver's). */
  runtime: string;
  /** Why the sandbox driver was passed over (`auto` only). */
  why: string;
}

/**
 * Decides the driver before the store opens or anything listens, so that a bad runtime stops `cove up` at once:
 * `--driver sandbox` that cannot run here, or a runtime named by flag, environment or file that is missing or
 * unusable (see @cove/sandbox's runtimes.ts), is a usage error (exit 2) naming what is missing. With `auto` and the
 * default runtime, a host without the sandbox's needs falls back to the process driver, as it always did.
 */
export async function chooseDriver(settings: Settings): Promise<DriverChoice> {
  const driver = settings.get(SETTINGS.driver, 'driver');
  const runtime = settings.get(SETTINGS.runtime, 'runtime');
  const value = runtime.value;
  if (driver.value === 'process') return { kind: 'process', runtime: value, why: '' };
  const { sandboxSupport } = await import('@cove/sandbox');
  const support = sandboxSupport(value);
  if (support.runtimeReasons.length > 0 && (driver.value === 'sandbox' || runtime.source !== 'default')) {
    throw new CliError(`the OCI runtime '${value}' (${runtime.origin}) cannot be used: ${support.runtimeReasons.join('; ')}`, 2);
  }
  if (support.ok) return { kind: 'sandbox', runtime: value, why: '' };
  if (driver.value === 'sandbox') throw new CliError(`the sandbox driver cannot run here: ${support.reasons.join('; ')}`, 2);
  return { kind: 'process', runtime: value, why: support.reasons.join('; ') };
}

/** The driver `choice` names: the sandbox driver, or the process driver with a warning nobody can miss. */
export async function openDriver(choice: DriverChoice, settings: Settings, dataDir: string, log: Logger): Promise<WorkspaceDriver> {
  if (choice.kind === 'sandbox') return openSandbox(settings, dataDir, choice.runtime, log);
  const { why } = choice;
  const banner = [
    '',
    '!!! WARNING: the process driver runs workspaces WITHOUT ANY ISOLATION.',
    '!!! Their commands run as this user, on this host, with its files and network.',
    `!!! Use it for development only.${why ? ` (sandbox driver unavailable: ${why})` : ''}`,
    '',
  ].join('\n');
  process.stderr.write(`${banner}\n`);
  log.warn({ reason: why || `chosen by ${settings.get(SETTINGS.driver, 'driver').origin}` }, 'process driver: workspaces are not isolated');
  return new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: [process.execPath, AGENT_BIN], log });
}

async function openSandbox(settings: Settings, dataDir: string, runtime: string, log: Logger): Promise<WorkspaceDriver> {
  const { SandboxDriver } = await import('@cove/sandbox');
  const warmPool = settings.get(SETTINGS.warmPool, 'warmPool');
  const warm = warmPool.value === 'auto' ? autoWarmPool(totalmem()) : Number(warmPool.value);
  if (!Number.isInteger(warm) || warm < 0 || warm > 64)
    throw new CliError(`invalid ${warmPool.origin} '${warmPool.value}': 0…64 or auto`, 2);
  const subnet = settings.value(SETTINGS.subnet, 'subnet');
  const nftTable = settings.value(SETTINGS.nftTable, 'nftTable');
  const { image, diskMb } = WORKSPACE_DEFAULTS;
  let driver: Awaited<ReturnType<typeof SandboxDriver.open>>;
  try {
    driver = await SandboxDriver.open({
      dataDir: path.join(dataDir, 'sandbox'),
      imagesDir: path.resolve(settings.value(SETTINGS.imagesDir, 'imagesDir')),
      runtime,
      diskOvercommit: ['true', '1'].includes(settings.value(SETTINGS.diskOvercommit, 'diskOvercommit') as string),
      ...(subnet ? { subnet } : {}),
      ...(nftTable ? { nftTable } : {}),
      log,
      // The control plane's defaults: a create without options adopts a ready workspace.
      ...(warm > 0 ? { warmPool: { size: warm, image, diskMb } } : {}),
    });
  } catch (err) {
    throw new CliError(`cannot open the sandbox driver: ${(err as Error).message}`, 1);
  }
  // What the runtime does less than runc (gVisor's pause, signals and seccomp): said once, at start.
  const degraded = driver.runtime.profile?.degraded ?? [];
  if (degraded.length > 0)
    log.warn({ runtime, degraded }, `the ${driver.runtime.profile?.name} runtime degrades some features (docs/decisions.md, Runtimes)`);
  // The default image is built once, in the background, so that the first create rarely waits for it.
  const name = driver.images.resolve(image);
  if (name && !driver.images.isReady(name)) {
    driver.images.ensure(name).catch((err: Error) => log.error({ err: err.message }, `building the ${image} image failed`));
  }
  return driver;
}
