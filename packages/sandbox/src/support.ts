import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { checkRuntime } from './runtimes.js';
import { nsHelperMissing } from './userns.js';

export interface SandboxSupport {
  ok: boolean;
  /** Why the sandbox driver cannot run here (empty when it can). */
  reasons: string[];
  /** Why the OCI runtime cannot be used, a subset of `reasons` (empty when it can): see runtimes.ts. */
  runtimeReasons: string[];
}

/**
 * Whether this host can run the sandbox driver: Linux, root, the tools it drives, the built user-namespace helper, and an OCI runtime it can
 * drive here (`runtime` is the runtime setting: a binary, optionally with global flags). The runtime is checked
 * even without root, so that a runtime named wrongly is said so first.
 */
export function sandboxSupport(runtime = 'runc'): SandboxSupport {
  const reasons: string[] = [];
  let runtimeReasons: string[] = [];
  if (process.platform !== 'linux') reasons.push(`not Linux (${process.platform})`);
  else {
    runtimeReasons = checkRuntime(runtime).reasons;
    reasons.push(...runtimeReasons);
    if (process.getuid?.() !== 0) reasons.push('not root');
    else {
      for (const tool of ['nft', 'ip', 'mkfs.ext4', 'mount']) {
        if (!onPath(tool)) reasons.push(`${tool} not found (bash scripts/system-deps.sh installs it)`);
      }
      // Every workspace runs in its own user namespace, made by this helper.
      const helper = nsHelperMissing();
      if (helper) reasons.push(helper);
    }
  }
  return { ok: reasons.length === 0, reasons, runtimeReasons };
}

function onPath(tool: string): boolean {
  return ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((dir) => {
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
