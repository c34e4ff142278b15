import { stat } from 'node:fs/promises';
import path from 'node:path';
import { createAgent, type TokenSource } from '@cove/agent';
import { Command, Option } from 'commander';
import { CliError } from '../cli-error.js';
import { parseListen } from '../listen-address.js';

interface AgentFlags {
  listen: string;
  workdir: string;
  tokenFile?: string;
  allowOrigin: string[];
}

/** `cove agent`: the Internal API server that runs inside a workspace. */
export function agentCommand(): Command {
  return new Command('agent')
    .description('Run the workspace agent (the Internal API server)')
    .option('--listen <host:port>', 'address to listen on', '0.0.0.0:9990')
    .option('--workdir <dir>', 'working directory for relative paths and commands', '/root')
    .option('--token-file <path>', 'file holding the bearer token (re-read on SIGHUP)')
    .option('--allow-origin <origin...>', 'browser origins allowed to open /ws besides the agent host', [])
    .addOption(new Option('--token <token>').hideHelp())
    .addHelpText(
      'after',
      `
The token comes from COVE_AGENT_TOKEN or --token-file, never from the command line.

Examples:
  COVE_AGENT_TOKEN=$(openssl rand -hex 32) cove agent --listen 127.0.0.1:9990 --workdir /srv/app
  cove agent --token-file /run/cove/token      # kill -HUP <pid> after rewriting the file`,
    )
    .action(async (flags: AgentFlags & { token?: string }) => {
      if (flags.token !== undefined) {
        throw new CliError('--token is not accepted: command lines are visible to every user; use COVE_AGENT_TOKEN or --token-file', 2);
      }
      await runAgent(flags);
    });
}

async function runAgent(flags: AgentFlags): Promise<void> {
  const { host, port } = parseListen(flags.listen);
  const workdir = path.resolve(flags.workdir);
  const info = await stat(workdir).catch(() => undefined);
  if (!info?.isDirectory()) throw new CliError(`--workdir ${workdir} is not a directory`, 2);

  const token = tokenSource(flags.tokenFile);
  // The environment copy is dropped so that commands run by the agent do not inherit the token.
  delete process.env.COVE_AGENT_TOKEN;

  let agent: Awaited<ReturnType<typeof createAgent>>;
  try {
    agent = await createAgent({ token, workdir, allowedOrigins: flags.allowOrigin });
  } catch (err) {
    throw new CliError((err as Error).message, 2);
  }
  const url = await agent.listen(host, port).catch((err: NodeJS.ErrnoException) => {
    throw new CliError(`cannot listen on ${flags.listen}: ${err.code ?? err.message}`, 1);
  });
  process.stdout.write(`cove agent ready on ${url} (listening on ${host}:${new URL(url).port}, workdir ${workdir})\n`);

  process.on('SIGHUP', () => {
    if (token.kind !== 'file') {
      agent.context.log.warn('SIGHUP ignored: the token comes from the environment, not a file');
      return;
    }
    try {
      agent.tokens.reload();
      agent.context.log.info('token reloaded');
    } catch (err) {
      agent.context.log.error({ err: (err as Error).message }, 'token reload failed; keeping the previous token');
    }
  });

  await new Promise<void>((resolve) => {
    const stop = () => {
      agent.close().then(resolve, resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function tokenSource(tokenFile: string | undefined): TokenSource {
  if (tokenFile) return { kind: 'file', path: path.resolve(tokenFile) };
  const env = process.env.COVE_AGENT_TOKEN;
  if (env) return { kind: 'env', value: env };
  throw new CliError('no token: set COVE_AGENT_TOKEN or pass --token-file PATH', 2);
}
