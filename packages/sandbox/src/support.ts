import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface SandboxSupport {
  ok: boolean;
  /** Why the sandbox driver cannot run here (empty when it can). */
  reasons: string[];
}

/** Whether this host can run the sandbox driver: Linux, root, and the tools it drives. */
export function sandboxSupport(runtime = 'runc'): SandboxSupport {
  const reasons: string[] = [];
  if (process.platform !== 'linux') reasons.push(`not Linux (${process.platform})`);
  else if (process.getuid?.() !== 0) reasons.push('not root');
  else {
    for (const tool of [runtime, 'nft', 'ip', 'mkfs.ext4', 'mount']) {
      if (!onPath(tool)) reasons.push(`${tool} not found (bash scripts/system-deps.sh installs it)`);
    }
  }
  return { ok: reasons.length === 0, reasons };
}

function onPath(tool: string): boolean {
  const dirs = tool.includes('/') ? [''] : ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
  return dirs.some((dir) => {
    try {
      accessSync(path.join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
