import type { WatcherEvent } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { onSignals } from '../local-io.js';
import { paint, type Style } from '../output.js';

interface WatchFlags {
  exclude: string[];
  count?: string;
}

const OP_STYLE: Record<string, Style> = { create: 'green', write: 'yellow', remove: 'red', rename: 'blue' };

/** `cove watch WS [PATH]`: file changes as they happen, until Ctrl-C. */
export function watchCommand(): Command {
  return withConnection(new Command('watch'))
    .description('Print file changes in a workspace as they happen (until Ctrl-C)')
    .argument('<workspace>', 'id or name')
    .argument('[path]', "directory to watch, recursively (default: the workspace's working directory)")
    .option(
      '-x, --exclude <glob>',
      'skip matching paths (repeatable; node_modules, .git and the like are skipped anyway)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('-c, --count <n>', 'exit after this many changes')
    .addHelpText(
      'after',
      `
Each change prints as "OP PATH" (OP is create, write, remove or rename); with
--json, one JSON event per line.

Examples:
  cove watch dev /app/src
  cove watch dev /app -x '*.log' --json | jq -r .path
  cove watch dev /app/build --count 1 && echo "built"`,
    )
    .action(async (ref: string, dir: string | undefined, flags: WatchFlags, command: Command) => {
      const limit = flags.count === undefined ? undefined : Number(flags.count);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
        throw new CliError(`invalid --count '${flags.count}'`, EXIT.usage);
      const s = session(command);
      const { rt } = await runtimeFor(s, ref);

      let watcherId: string | undefined;
      const early: WatcherEvent[] = [];
      let changes = 0;
      let finish: () => void = () => {};
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      const show = (ev: WatcherEvent) => {
        if (ev.watcher_id !== watcherId) return;
        if (s.json) process.stdout.write(`${JSON.stringify(ev)}\n`);
        else if (ev.type === 'ready') process.stderr.write(`watching ${ev.root} (${ev.dirs} directories); Ctrl-C to stop\n`);
        else if (ev.type === 'overflow') process.stderr.write('cove: events were lost (the server could not keep up)\n');
        if (ev.type !== 'change') return;
        if (!s.json) process.stdout.write(`${paint((ev.op ?? '?').padEnd(6), OP_STYLE[ev.op ?? ''] ?? 'dim')} ${ev.path}\n`);
        if (limit !== undefined && ++changes >= limit) finish();
      };

      // The socket opens before the watcher exists, so no change between the two is missed.
      const ws = rt.ws();
      ws.onWatcherEvent((ev) => (watcherId === undefined ? early.push(ev) : show(ev)));
      let reconnecting = false;
      let stopping = false;
      ws.onClose(() => {
        if (!reconnecting && !stopping) process.stderr.write('cove: connection lost, reconnecting (changes meanwhile are missed)\n');
        reconnecting = true;
      });
      ws.onOpen(() => {
        reconnecting = false;
      });
      await ws.connect();
      const removeSignals = onSignals(['SIGINT', 'SIGTERM', 'SIGHUP'], () => finish());
      try {
        const watcher = await rt.watcher.create({ path: dir ?? '.', ...(flags.exclude.length > 0 ? { excludes: flags.exclude } : {}) });
        watcherId = watcher.id;
        for (const ev of early.splice(0)) show(ev);
        await finished;
      } finally {
        removeSignals();
        stopping = true;
        ws.close();
        if (watcherId !== undefined) await rt.watcher.delete(watcherId).catch(() => {});
      }
    });
}
