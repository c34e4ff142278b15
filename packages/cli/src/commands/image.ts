import path from 'node:path';
import type { ImageInfo, ImageProgress } from '@cove/sdk';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, paint, printFields, printJson, printTable, withSpinner } from '../output.js';
import { Settings, settingOption } from '../resolve-setting.js';
import { SETTINGS } from '../settings.js';

/** `sha256:3f4e…` → `3f4e5a6b7c8d` (as Docker shows ids); builtin ids stay as they are. */
const shortId = (id: string) => (id.startsWith('sha256:') ? id.slice(7, 19) : id);

function showImage(image: ImageInfo): void {
  printFields([
    ['image', image.image],
    ['id', image.id],
    ['references', image.references.join(', ')],
    ['digest', image.digest],
    ['source', image.source],
    ['category', image.category],
    ['layers', image.layers],
    ['size', formatBytes(image.size)],
    ['created', image.created],
    ['env', image.config.env.join(' ')],
    ['workdir', image.config.working_dir],
    ['user', image.config.user],
    ['entrypoint', image.config.entrypoint ? JSON.stringify(image.config.entrypoint) : null],
    ['cmd', image.config.cmd ? JSON.stringify(image.config.cmd) : null],
  ]);
}

/**
 * Progress on a terminal: one line per layer (its last step, a bar when sizes are known) and one for the
 * rest, redrawn in place on stderr. Elsewhere nothing is drawn (scripts use --json).
 */
class ProgressBoard {
  readonly #lines = new Map<string, string>();
  #drawn = 0;
  readonly #enabled = process.stderr.isTTY === true;

  update(p: ImageProgress): void {
    if (!this.#enabled) return;
    const key = p.layer ?? '';
    const label = p.layer ? `${shortId(p.layer)}: ` : '';
    let bar = '';
    if (p.current !== undefined && p.total !== undefined && p.total > 0) {
      const ratio = Math.min(1, p.current / p.total);
      bar = ` [${'#'.repeat(Math.round(ratio * 20)).padEnd(20, '.')}] ${formatBytes(p.current)}/${formatBytes(p.total)}`;
    }
    this.#lines.set(key, `${label}${p.phase === 'done' ? paint(p.message, 'green', process.stderr) : p.message}${bar}`);
    this.#draw();
  }

  #draw(): void {
    const cols = process.stderr.columns ?? 80;
    let out = this.#drawn > 0 ? `\u001b[${this.#drawn}A` : '';
    for (const line of this.#lines.values()) out += `\r${line.slice(0, cols - 1)}\u001b[K\n`;
    process.stderr.write(out);
    this.#drawn = this.#lines.size;
  }
}

/** A `--json` consumer reads one JSON object per line: the steps, then the result. */
const ndjson = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY)
    throw new CliError('--password-stdin reads the password from a pipe: echo "$TOKEN" | cove image pull …', EXIT.usage);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

interface PullFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecure?: boolean;
}

function pullCommand(): Command {
  return withConnection(new Command('pull'))
    .description("Pull an image from a registry into the server's image store")
    .argument('<reference>', 'python:3.12-slim, ghcr.io/org/app:tag, 127.0.0.1:5000/team/base:1, …')
    .option('--username <name>', 'registry user (else the server uses its own ~/.docker/config.json or auth.json)')
    .option('--password <password>', 'registry password or token (prefer --password-stdin: command lines are visible to every user)')
    .option('--password-stdin', 'read the registry password from stdin')
    .option('--insecure', 'plain HTTP or unverified TLS (registries on loopback get it without asking)')
    .addHelpText(
      'after',
      `
Docker Hub short names resolve as Docker does (python → docker.io/library/python:latest). On a terminal each
layer's progress is drawn on stderr; --json prints the steps and then the result as JSON lines.

Examples:
  cove image pull python:3.12-slim
  cove image pull 127.0.0.1:5000/team/base:1
  echo "$GHCR_TOKEN" | cove image pull ghcr.io/org/app:2 --username me --password-stdin
  cove image pull alpine:3.20 --json | jq -c 'select(.success)'`,
    )
    .action(async (reference: string, flags: PullFlags, command: Command) => {
      const s = session(command);
      if (flags.password !== undefined && flags.passwordStdin) throw new CliError('--password and --password-stdin: give one', EXIT.usage);
      const password = flags.passwordStdin ? await readStdin() : flags.password;
      if ((flags.username === undefined) !== (password === undefined)) {
        throw new CliError('--username and --password (or --password-stdin) go together', EXIT.usage);
      }
      const board = new ProgressBoard();
      const image = await s.client.workspaces.images.pull(reference, {
        ...(flags.username !== undefined ? { username: flags.username } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(flags.insecure ? { insecure: true } : {}),
        onProgress: (p) => (s.json ? ndjson(p) : board.update(p)),
      });
      if (s.json) ndjson({ success: true, image });
      else process.stdout.write(`${image.name} ${paint(shortId(image.id), 'dim')}\n`);
    });
}

function importCommand(): Command {
  return withConnection(new Command('import'))
    .alias('load')
    .description('Import an image archive: a `docker save` tar, or an OCI layout (a directory, or a tar of one)')
    .argument('<path>', 'the archive file, or the OCI layout directory')
    .option('--name <name:tag>', "the image's name (else the archive's own)")
    .addHelpText(
      'after',
      `
The archive is sent to the control plane, which imports it into the host's image store (operator accounts only).

Examples:
  docker save app:1 -o app.tar && cove image import app.tar
  skopeo copy docker://busybox oci:./layout:latest && cove image import ./layout --name busybox:mine`,
    )
    .action(async (file: string, flags: { name?: string }, command: Command) => {
      const s = session(command);
      const images = await withSpinner(`importing ${file}`, s.json, () =>
        s.client.workspaces.images.import(path.resolve(file), flags.name !== undefined ? { name: flags.name } : {}),
      );
      if (s.json) printJson(images);
      else for (const image of images) process.stdout.write(`${image.name} ${paint(shortId(image.id), 'dim')}\n`);
    });
}

function listCommand(): Command {
  return withConnection(new Command('ls'))
    .alias('list')
    .description('List the images workspaces can be created from')
    .option('--search <text>', 'only images whose reference, id or description has this text')
    .option('--category <id>', 'only this category: os, runtime, database, infra, devtools, custom')
    .addHelpText('after', '\nExamples:\n  cove image ls\n  cove image ls --category runtime --json')
    .action(async (flags: { search?: string; category?: string }, command: Command) => {
      const s = session(command);
      const { images } = await s.client.workspaces.images.list({
        ...(flags.search !== undefined ? { search: flags.search } : {}),
        ...(flags.category !== undefined ? { category: flags.category } : {}),
      });
      if (s.json) return printJson(images);
      if (images.length === 0) return void process.stderr.write('no images (pull one with `cove image pull python:3.12-slim`)\n');
      printTable(
        ['IMAGE', 'ID', 'SOURCE', 'CATEGORY', 'LAYERS', 'SIZE', 'CREATED'],
        images.map((i) => [i.image, shortId(i.id), i.source, i.category, String(i.layers), formatBytes(i.size), i.created]),
      );
    });
}

function inspectCommand(): Command {
  return withConnection(new Command('inspect'))
    .alias('get')
    .description('Show an image: its references, layers and the config workspaces get from it')
    .argument('<reference>', 'a reference or an image id')
    .addHelpText('after', '\nExamples:\n  cove image inspect python:3.12-slim\n  cove image inspect python:3.12-slim --json | jq .config')
    .action(async (reference: string, _flags: unknown, command: Command) => {
      const s = session(command);
      const image = await s.client.workspaces.images.get(reference);
      if (s.json) printJson(image);
      else showImage(image);
    });
}

function rmCommand(): Command {
  return withConnection(new Command('rm'))
    .alias('remove')
    .description("Remove image references; an image's layers go once no image uses them")
    .argument('<reference...>', 'references or image ids')
    .option('--force', 'remove it even while workspaces use it (they keep it until they are deleted)')
    .addHelpText('after', '\nExamples:\n  cove image rm python:3.12-slim\n  cove image rm 127.0.0.1:5000/team/base:1 --force')
    .action(async (references: string[], flags: { force?: boolean }, command: Command) => {
      const s = session(command);
      const results: unknown[] = [];
      for (const reference of references) {
        results.push(await s.client.workspaces.images.remove(reference, flags.force ? { force: true } : {}));
        if (!s.json) process.stdout.write(`removed ${reference}\n`);
      }
      if (s.json) printJson(results.length === 1 ? results[0] : results);
    });
}

interface BuildFlags {
  tag: string;
  file?: string;
  buildArg: string[];
  /** `--no-cache` (commander's negation sets it false). */
  cache: boolean;
  json?: boolean;
}

function buildCommand(): Command {
  return new Command('build')
    .description("Build an image from a Dockerfile into this host's image store (runs here, as root)")
    .argument('<context>', 'the build context: the directory COPY and ADD read from')
    .requiredOption('-t, --tag <name:tag>', "the built image's name")
    .option('-f, --file <path>', 'the Dockerfile (default: Dockerfile in the context)')
    .option('--build-arg <key=value>', 'a build argument (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--no-cache', 'run every step again, ignoring the build cache')
    .option('--json', 'print the steps and then the image as JSON lines')
    .addOption(settingOption(SETTINGS.dataDir, '--data-dir <dir>'))
    .addOption(settingOption(SETTINGS.imagesDir, '--images-dir <dir>'))
    .addHelpText(
      'after',
      `
The build runs on this machine, in the image store the servers use (--images-dir, as for \`cove up\`), so it is for
the host's root; workspaces can be created from the image as soon as it is built. Bases the store lacks are pulled.
Each step is cached: building again with the same base, instructions and files reuses it.

Examples:
  cove image build -t app:1 .
  cove image build -t tools:dev -f docker/Dockerfile.dev --build-arg VERSION=1.2 .
  cove ws create --name app --image app:1`,
    )
    .action(async (context: string, _flags: unknown, command: Command) => {
      const flags = command.opts<BuildFlags>();
      if (process.getuid?.() !== 0) {
        throw new CliError("cove image build writes the host's image store, so it runs as root on the server's host", EXIT.usage);
      }
      const buildArgs: Record<string, string> = {};
      for (const pair of flags.buildArg) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new CliError(`invalid --build-arg '${pair}': expected KEY=VALUE`, EXIT.usage);
        buildArgs[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      const settings = new Settings(command);
      const imagesDir = path.resolve(settings.value(SETTINGS.imagesDir, 'imagesDir'));
      // The store's code (and pino) load only for a build.
      const [{ ImageStore, buildImage }, { createApiLogger }] = await Promise.all([import('@cove/sandbox'), import('@cove/api')]);
      const store = new ImageStore({ dir: imagesDir, log: createApiLogger(process.env.COVE_LOG_LEVEL ?? 'warn') });
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const board = new ProgressBoard();
      try {
        const image = await buildImage(store, {
          context,
          tag: flags.tag,
          ...(flags.file !== undefined ? { dockerfile: flags.file } : {}),
          buildArgs,
          noCache: !flags.cache,
          onProgress: (p) => (flags.json ? ndjson(p) : board.update(p)),
          signal: abort.signal,
        });
        if (flags.json) ndjson({ success: true, image });
        else process.stdout.write(`${image.name} ${paint(shortId(image.id), 'dim')}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** `cove image …`: the images workspaces are created from. */
export function imageCommand(): Command {
  return new Command('image')
    .alias('images')
    .description('Pull, import, build, list and remove the images workspaces are created from')
    .addCommand(pullCommand())
    .addCommand(importCommand())
    .addCommand(buildCommand())
    .addCommand(listCommand())
    .addCommand(inspectCommand())
    .addCommand(rmCommand())
    .addHelpText(
      'after',
      `
Images live in the host's image store, shared by every account. Workspaces are created from them by reference:
  cove ws create --name py --image python:3.12-slim   (pulled first when the store lacks it)

Examples:
  cove image pull python:3.12-slim
  cove image import ./app.tar --name app:1
  cove image build -t tools:1 .
  cove image ls
  cove image rm python:3.12-slim`,
    );
}
