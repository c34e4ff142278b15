import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What is bind-mounted read-only into every workspace to run the agent: it
 * is not part of the image. The node binary, tini (PID 1: reaps orphans and
 * forwards signals to the agent), and Cove's packages with their
 * node_modules (the layout `npm install` produced, so the workspace
 * symlinks in node_modules resolve inside too). The agent runs from its own
 * entry, `@cove/agent`'s `bin/cove-agent.js`, which loads the agent's
 * modules only.
 */
export interface AgentFiles {
  node: string;
  tini: string;
  /** The directory holding `packages/` and `node_modules/`. */
  appDir: string;
}

export const AGENT_MOUNT = '/opt/cove';
/** The agent's executable, relative to the app directory (inside: under `/opt/cove/app`). */
const AGENT_BIN = 'packages/agent/bin/cove-agent.js';
/** The container's first process once the agent is started (before `runc start` it is the runtime's init). */
export const AGENT_INIT = `${AGENT_MOUNT}/bin/tini`;

/** The files of this installation: the running node, Debian's tini-static, the repository this package is in. */
export function defaultAgentFiles(): AgentFiles {
  const appDir = fileURLToPath(new URL('../../../', import.meta.url));
  return { node: process.execPath, tini: '/usr/bin/tini-static', appDir: path.resolve(appDir) };
}

export function missingAgentFiles(files: AgentFiles): string[] {
  const needed = [
    files.node,
    files.tini,
    path.join(files.appDir, 'node_modules'),
    path.join(files.appDir, AGENT_BIN),
    // What the executable imports: missing until the agent is built.
    path.join(files.appDir, 'packages/agent/dist/main.js'),
  ];
  return needed.filter((p) => !existsSync(p));
}

export function agentBinds(files: AgentFiles): Array<{ source: string; destination: string; readonly: boolean }> {
  return [
    { source: files.node, destination: `${AGENT_MOUNT}/bin/node`, readonly: true },
    { source: files.tini, destination: `${AGENT_MOUNT}/bin/tini`, readonly: true },
    { source: path.join(files.appDir, 'packages'), destination: `${AGENT_MOUNT}/app/packages`, readonly: true },
    { source: path.join(files.appDir, 'node_modules'), destination: `${AGENT_MOUNT}/app/node_modules`, readonly: true },
  ];
}

/** The container's first process: tini, then the agent on port `port` with its token from a file. */
export function agentArgs(port: number, workdir: string, tokenFile: string): string[] {
  return [
    AGENT_INIT,
    '--',
    `${AGENT_MOUNT}/bin/node`,
    // A small young generation keeps an idle agent's memory low.
    '--max-semi-space-size=2',
    `${AGENT_MOUNT}/app/${AGENT_BIN}`,
    '--listen',
    `0.0.0.0:${port}`,
    '--workdir',
    workdir,
    '--token-file',
    tokenFile,
  ];
}
