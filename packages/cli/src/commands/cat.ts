import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { runtimeFor, session } from '../client.js';
import { withConnection } from '../config.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../output.js';
import { parseRemote } from '../remote-path.js';

interface CatFlags {
  number?: boolean;
  lines?: string;
}

function lineRange(spec: string): { startLine?: number; endLine?: number } {
  const match = /^(\d*):(\d*)$/.exec(spec) ?? /^(\d+)()$/.exec(spec);
  if (!match || (match[1] === '' && match[2] === ''))
    throw new CliError(`invalid --lines '${spec}': expected START:END, START: or :END`, EXIT.usage);
  const range: { startLine?: number; endLine?: number } = {};
  if (match[1]) range.startLine = Number(match[1]);
  if (match[2]) range.endLine = Number(match[2]);
  else if (!spec.includes(':')) range.endLine = range.startLine as number;
  return range;
}

/** `cove cat WS PATH…`: file contents to stdout, byte for byte. */
export function catCommand(): Command {
  return withConnection(new Command('cat'))
    .description('Print files from a workspace (binary-safe)')
    .argument('<workspace>', 'id or name (WORKSPACE:PATH works too)')
    .argument('[paths...]', 'files to print')
    .option('-n, --number', 'number the lines (text files)')
    .option('--lines <start:end>', 'only these lines, 1-based and inclusive (text files)')
    .addHelpText(
      'after',
      '\nExamples:\n  cove cat dev /etc/os-release\n  cove cat dev:/app/main.go --lines 10:25 -n\n  cove cat dev /app/logo.png > logo.png',
    )
    .action(async (ref: string, paths: string[], flags: CatFlags, command: Command) => {
      const remote = parseRemote(ref);
      const files = remote ? [remote.path, ...paths] : paths;
      if (files.length === 0) throw new CliError('no file given', EXIT.usage);
      const s = session(command);
      const { rt } = await runtimeFor(s, remote?.workspace ?? ref);
      const text = flags.number === true || flags.lines !== undefined || s.json;
      for (const file of files) {
        if (text) {
          const result = await rt.files.read({
            filePath: file,
            ...(flags.lines !== undefined ? lineRange(flags.lines) : {}),
            ...(flags.number ? { withLineNumbers: true } : {}),
          });
          if (s.json) printJson(result);
          else process.stdout.write(result.content.endsWith('\n') || result.content === '' ? result.content : `${result.content}\n`);
          continue;
        }
        const res = await rt.files.downloadStream({ path: file });
        if (!res.body) continue;
        // `end: false`: stdout stays open for the next file.
        await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream<Uint8Array>), process.stdout, { end: false });
      }
    });
}
