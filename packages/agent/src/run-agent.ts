// The agent as a process: its server on the configured address, the lifecycle messages on stdout, SIGHUP to
// re-read the token file, SIGTERM/SIGINT to stop. Loaded by `main` once the command line is known to be good.
import { readFile, stat } from 'node:fs/promises';
import { type AgentLifecycleEvent, encodeAgentEvent } from '@cove/protocol';
import { type AgentConfig, AgentExitError } from './agent-args.js';
import { ProcessDefaults } from './identity/process-defaults.js';
import { createAgent } from './server.js';
import { AGENT_VERSION } from './version.js';

/**
 * Runs the agent until SIGTERM or SIGINT, then closes it. The environment's `COVE_AGENT_TOKEN` is deleted once
 * the token source is known, so that commands run by the agent do not inherit it. Throws an `AgentExitError`
 * when it cannot start (2: bad workdir or token, 1: cannot listen).
 */
export async function runAgent(config: AgentConfig): Promise<void> {
  const emit = (event: AgentLifecycleEvent) => process.stdout.write(encodeAgentEvent(event));
  // stdout and stderr may be a file on a full disk (the sandbox keeps them on the workspace's own disk): a
  // failed write loses that line, never the agent.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  // The environment copy is dropped so that commands run by the agent do not inherit the token.
  delete process.env.COVE_AGENT_TOKEN;

  const info = await stat(config.workdir).catch(() => undefined);
  if (!info?.isDirectory()) throw new AgentExitError(`--workdir ${config.workdir} is not a directory`, 2);

  const processes = new ProcessDefaults({
    ...(config.envFile !== undefined ? { env: await readEnvFile(config.envFile) } : {}),
    ...(config.user !== undefined ? { user: config.user } : {}),
  });

  let agent: Awaited<ReturnType<typeof createAgent>>;
  try {
    agent = await createAgent({
      token: config.token,
      workdir: config.workdir,
      allowedOrigins: config.allowedOrigins,
      processes,
      ...(config.stateDir !== undefined ? { stateDir: config.stateDir } : {}),
    });
  } catch (err) {
    throw new AgentExitError((err as Error).message, 2);
  }
  let url: string;
  try {
    url = await agent.listen(config.host, config.port);
  } catch (err) {
    await agent.close().catch(() => {});
    const e = err as NodeJS.ErrnoException;
    throw new AgentExitError(`cannot listen on ${config.listen}: ${e.code ?? e.message}`, 1);
  }
  const log = agent.context.log;

  process.on('SIGHUP', () => {
    if (config.token.kind !== 'file') {
      log.warn('SIGHUP ignored: the token comes from the environment, not a file');
      emit({ type: 'token-reload-failed', error: 'the token comes from COVE_AGENT_TOKEN, not a file' });
      return;
    }
    try {
      agent.tokens.reload();
      log.info('token reloaded');
      emit({ type: 'token-reloaded' });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'token reload failed; keeping the previous token');
      emit({ type: 'token-reload-failed', error: (err as Error).message });
    }
  });
  // SIGTERM/SIGINT are handled before the ready message too: whoever reads it may stop the agent at once, and
  // a signal that came before its handler would kill the agent mid-way.
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      agent.close().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  // In the same tick as the signal handlers: whoever reads this may rotate the token at once.
  const address = agent.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  emit({ type: 'ready', url, listen: `${host}:${port}`, port, workdir: config.workdir, pid: process.pid, version: AGENT_VERSION });

  await stopped;
}

/** The `--env-file`: a JSON array of `KEY=value` strings. A bad file stops the agent (exit 2) with the reason. */
async function readEnvFile(file: string): Promise<string[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new AgentExitError(`--env-file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 2);
  }
  if (!Array.isArray(parsed) || !parsed.every((e) => typeof e === 'string' && /^[^=\0]+=/.test(e) && !e.includes('\0'))) {
    throw new AgentExitError(`--env-file ${file}: expected a JSON array of "KEY=value" strings`, 2);
  }
  return parsed as string[];
}
