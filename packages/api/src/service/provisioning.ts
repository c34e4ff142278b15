import { AppError, type ImageProgress, isErrorCode, type WorkspaceDriver } from '@cove/protocol';
import type { WorkspaceRecord } from '../store/records.js';
import type { ControlContext } from './context.js';
import { checkReference, familiar } from './images.js';

/**
 * A create whose image the driver's store does not have pulls it first. The create waits for the pull;
 * with `wait_ready: false` (what the official SDK always sends) it answers at once with the workspace not
 * ready and its `provisioning` ({state, phase, message, error}, COMPAT §2) telling the pull's progress, which
 * the SDK polls until the workspace runs or provisioning has failed. Provisioning state is kept in memory
 * (per control plane, keyed by its driver): it describes work this process is doing.
 */

export interface ProvisioningState {
  state: 'queued' | 'running' | 'ready' | 'failed';
  phase: 'queued' | 'preparing' | 'starting' | 'initializing' | 'ready' | 'failed' | 'deleting';
  message: string | null;
  error: { code: string; message: string } | null;
}

/** Creates the workspace in the driver and boots it. `background`: no one waits, so a failure keeps the record to show it. */
export type BringUp = (background: boolean) => Promise<WorkspaceRecord>;

interface Entry {
  state: ProvisioningState;
  /** When it failed (failed entries are forgotten a day later). */
  failedAt?: number;
  /** Runs the provisioning again (`POST /workspace/:id/provisioning/retry`). */
  retry?: () => void;
}

interface Provisioner {
  entries: Map<string, Entry>;
  /** Background provisioning in flight, and what stops its pull. */
  running: Set<Promise<unknown>>;
  abort: AbortController;
}

const FAILED_KEPT_MS = 24 * 60 * 60 * 1000;
const provisioners = new WeakMap<WorkspaceDriver, Provisioner>();

function provisioner(driver: WorkspaceDriver): Provisioner {
  let p = provisioners.get(driver);
  if (!p) {
    p = { entries: new Map(), running: new Set(), abort: new AbortController() };
    provisioners.set(driver, p);
  }
  return p;
}

/** The workspace's provisioning as the wire shows it: null once it runs (or when nothing is in progress). */
export function provisioningOf(driver: WorkspaceDriver, id: string): ProvisioningState | null {
  return provisioners.get(driver)?.entries.get(id)?.state ?? null;
}

function set(p: Provisioner, id: string, entry: Entry): void {
  const now = Date.now();
  for (const [key, e] of p.entries) if (e.failedAt !== undefined && now - e.failedAt > FAILED_KEPT_MS) p.entries.delete(key);
  p.entries.set(id, entry);
}

const running = (phase: ProvisioningState['phase'], message: string): ProvisioningState => ({
  state: 'running',
  phase,
  message,
  error: null,
});

/** One line for a pull step: `pulling python:3.12-slim: downloading sha256:3f…: 12.5/40.1 MiB`. */
function progressMessage(image: string, p: ImageProgress): string {
  const bytes =
    p.current !== undefined && p.total !== undefined && p.total > 0
      ? `: ${(p.current / 1048576).toFixed(1)}/${(p.total / 1048576).toFixed(1)} MiB`
      : '';
  const layer = p.layer ? ` ${p.layer.slice(0, 19)}` : '';
  return `pulling ${image}: ${p.phase}${layer}${bytes}${p.message ? ` (${p.message})` : ''}`.slice(0, 500);
}

function errorOf(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  const code = (err as { code?: unknown }).code;
  return { code: isErrorCode(code) ? code : 'internal_error', message: err instanceof Error ? err.message : String(err) };
}

/**
 * Provisions a workspace just inserted: pulls its image when the driver's store lacks it, then `bringUp`.
 * `wait`: the caller waits, and a failure removes the workspace and is thrown. Else, when there is
 * something to pull, answers the record at once and works in the background; a failure leaves the
 * workspace (nothing made in the driver) with `provisioning.state: "failed"` and the error.
 */
export async function provisionWorkspace(
  ctx: ControlContext,
  record: WorkspaceRecord,
  wait: boolean,
  bringUp: BringUp,
): Promise<WorkspaceRecord> {
  const images = ctx.driver.images;
  let missing = false;
  if (images) {
    try {
      checkReference(record.image);
      missing = (await images.get(record.image)) === undefined;
    } catch (err) {
      await ctx.store.deleteWorkspace(record.id);
      throw err;
    }
  }
  if (!images || !missing) return bringUp(false);

  const p = provisioner(ctx.driver);
  const image = familiar(record.image);
  const work = async (background: boolean): Promise<WorkspaceRecord> => {
    set(p, record.id, { state: running('preparing', `pulling ${image}`) });
    try {
      await images.pull(record.image, {
        signal: p.abort.signal,
        onProgress: (progress) => {
          const entry = p.entries.get(record.id);
          if (entry) entry.state = running('preparing', progressMessage(image, progress));
        },
      });
      set(p, record.id, { state: running('starting', 'starting the workspace') });
      const ready = await bringUp(background);
      p.entries.delete(record.id);
      return ready;
    } catch (err) {
      if (!background) {
        p.entries.delete(record.id);
        await ctx.store.deleteWorkspace(record.id).catch(() => {});
        throw err;
      }
      if (!(await ctx.store.getWorkspace(record.id).catch(() => record))) {
        // Deleted while its image was pulled: nothing to report to anyone.
        p.entries.delete(record.id);
        throw err;
      }
      const error = errorOf(err);
      ctx.log.warn({ workspace: record.id, image: record.image, err: error.message }, 'workspace provisioning failed');
      set(p, record.id, {
        state: { state: 'failed', phase: 'failed', message: error.message, error },
        failedAt: Date.now(),
        retry: () => start(),
      });
      throw err;
    }
  };
  const start = (): WorkspaceRecord => {
    const task = work(true).catch(() => undefined);
    p.running.add(task);
    void task.finally(() => p.running.delete(task));
    return record;
  };
  if (wait) return work(false);
  start();
  return record;
}

/**
 * `POST /workspace/:id/provisioning/retry` (the official SDK's `retryCreation`): runs a failed
 * provisioning again, in the background. Anything else has nothing to retry (409).
 */
export function retryProvisioning(driver: WorkspaceDriver, id: string): void {
  const entry = provisioners.get(driver)?.entries.get(id);
  if (!entry?.retry || entry.state.state !== 'failed') {
    throw new AppError('conflict', `workspace '${id}' has no failed provisioning to retry`);
  }
  entry.retry();
}

/** Stops background provisioning (control-plane shutdown): pulls are aborted, and waited for. */
export async function stopProvisioning(driver: WorkspaceDriver): Promise<void> {
  const p = provisioners.get(driver);
  if (!p) return;
  p.abort.abort();
  await Promise.allSettled([...p.running]);
}
