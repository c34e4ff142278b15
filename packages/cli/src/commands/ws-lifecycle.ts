import type { LifecycleStatus } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { resolveWorkspace, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { printFields, printJson } from '../output.js';

const DURATION = /^\d{1,9}[smhd]?$/i;

/** A duration flag or argument: whole seconds or `30s`, `10m`, `2h`, `1d` (the control plane reads the same). */
export function durationArg(name: string) {
  return (value: string): string => {
    if (!DURATION.test(value.trim())) {
      throw new CliError(`invalid ${name} '${value}': expected seconds or a duration like 30s, 10m, 2h, 1d`, EXIT.usage);
    }
    return value.trim();
  };
}

const TTL_ACTIONS = ['stop', 'pause', 'suspend', 'remove'];

export function ttlActionArg(value: string): 'stop' | 'pause' | 'suspend' | 'remove' {
  if (!TTL_ACTIONS.includes(value)) throw new CliError(`invalid --ttl-action '${value}': one of ${TTL_ACTIONS.join(', ')}`, EXIT.usage);
  return value as 'stop' | 'pause' | 'suspend' | 'remove';
}

export function restartPolicyArg(value: string): 'never' | 'on-failure' | 'always' {
  if (value !== 'never' && value !== 'on-failure' && value !== 'always') {
    throw new CliError(`invalid --restart '${value}': one of never, on-failure, always`, EXIT.usage);
  }
  return value;
}

function showLifecycle(lc: LifecycleStatus): void {
  const last = lc.events.at(-1);
  printFields([
    ['workspace', lc.workspace_id],
    ['status', lc.status],
    ['mode', lc.mode],
    ['ttl', lc.ttl !== undefined ? `${lc.ttl} s, then ${lc.ttl_action}${lc.remove_on_exit ? ' (removed on exit)' : ''}` : undefined],
    ['expires', lc.expires_at],
    [
      'idle',
      lc.idle ? `suspend after ${lc.idle.suspend_after} s${lc.idle.stop_after ? `, stop ${lc.idle.stop_after} s later` : ''}` : 'off',
    ],
    ['restart', `${lc.restart_policy}${lc.max_restarts ? ` (max ${lc.max_restarts})` : ''}, ${lc.restart_info.count} so far`],
    ['asleep by', lc.stopped_by ?? undefined],
    ['wakes on traffic', lc.wake_on_traffic ? 'yes' : undefined],
    ['uptime', `${lc.uptime} s`],
    ['last event', last ? `${last.at} ${last.type}${last.detail ? `: ${last.detail}` : ''}` : undefined],
  ]);
}

function lifecycleCommand(): Command {
  return withConnection(new Command('lifecycle'))
    .description('Show a workspace’s lifecycle: TTL, idle and restart policies, recent events')
    .argument('<workspace>', 'id or name')
    .addHelpText('after', '\nExamples:\n  cove ws lifecycle dev\n  cove ws lifecycle dev --json | jq .events')
    .action(async (ref: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const lc = await s.client.workspaces.lifecycle.get(await resolveWorkspace(s, ref));
      if (s.json) printJson(lc);
      else showLifecycle(lc);
    });
}

function ttlCommand(): Command {
  return withConnection(new Command('ttl'))
    .description('Make a workspace temporary with a TTL counted from now (or change what happens when it runs out)')
    .argument('<workspace>', 'id or name')
    .argument('[ttl]', 'seconds or 30s, 10m, 2h, 1d', durationArg('ttl'))
    .option('--action <action>', 'when it runs out: stop, pause, suspend or remove', ttlActionArg)
    .option('--permanent', 'no TTL any more')
    .addHelpText('after', '\nExamples:\n  cove ws ttl dev 30m\n  cove ws ttl ci 2h --action remove\n  cove ws ttl dev --permanent')
    .action(
      async (
        ref: string,
        ttl: string | undefined,
        flags: { action?: ReturnType<typeof ttlActionArg>; permanent?: boolean },
        command: Command,
      ) => {
        const s = session(command);
        const id = await resolveWorkspace(s, ref);
        const lifecycle = s.client.workspaces.lifecycle;
        if (flags.permanent) {
          if (ttl !== undefined || flags.action !== undefined) throw new CliError('--permanent takes no TTL or action', EXIT.usage);
        } else if (ttl === undefined && flags.action === undefined) {
          throw new CliError('give a TTL, --action or --permanent', EXIT.usage);
        }
        const lc = flags.permanent
          ? await lifecycle.makePermanent(id)
          : await lifecycle.updateTtl(id, { ...(ttl !== undefined ? { ttl } : {}), ...(flags.action ? { ttl_action: flags.action } : {}) });
        if (s.json) printJson(lc);
        else showLifecycle(lc);
      },
    );
}

function idleCommand(): Command {
  return withConnection(new Command('idle'))
    .description('Suspend a workspace after a while without activity (memory kept; a request wakes it), then stop it')
    .argument('<workspace>', 'id or name')
    .argument('<suspend-after>', 'seconds or 30s, 10m, 2h, 1d; 0 turns the policy off', durationArg('suspend-after'))
    .option('--stop-after <duration>', 'stop it this long after it was suspended', durationArg('--stop-after'))
    .addHelpText('after', '\nExamples:\n  cove ws idle dev 10m\n  cove ws idle dev 10m --stop-after 1d\n  cove ws idle dev 0')
    .action(async (ref: string, suspendAfter: string, flags: { stopAfter?: string }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const lc = await s.client.workspaces.lifecycle.setIdle(id, {
        suspend_after: suspendAfter,
        ...(flags.stopAfter !== undefined ? { stop_after: flags.stopAfter } : {}),
      });
      if (s.json) printJson(lc);
      else showLifecycle(lc);
    });
}

function pingCommand(): Command {
  return withConnection(new Command('ping'))
    .description('Record activity on a workspace; a temporary one’s TTL starts again')
    .argument('<workspace>', 'id or name')
    .option('--ttl <seconds>', 'renew the TTL for this many seconds instead', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 86_400) throw new CliError(`invalid --ttl '${v}': 1 to 86400 seconds`, EXIT.usage);
      return n;
    })
    .addHelpText('after', '\nExamples:\n  cove ws ping dev\n  while sleep 60; do cove ws ping ci; done')
    .action(async (ref: string, flags: { ttl?: number }, command: Command) => {
      const s = session(command);
      const id = await resolveWorkspace(s, ref);
      const answer = await s.client.workspaces.lifecycle.ping(id, flags.ttl !== undefined ? { ttl_seconds: flags.ttl } : {});
      if (s.json) printJson(answer);
      else process.stdout.write(`${id} ${answer.status}${answer.expires_at ? `, expires ${answer.expires_at}` : ''}\n`);
    });
}

/** The lifecycle subcommands of `cove ws`. */
export function lifecycleCommands(): Command[] {
  return [lifecycleCommand(), ttlCommand(), idleCommand(), pingCommand()];
}
