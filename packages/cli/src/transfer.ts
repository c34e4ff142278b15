import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import * as tar from 'tar';
import type { Progress } from './output.js';

/** Counts bytes into a progress bar as they pass. */
function counter(progress: Progress, total: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total.bytes += chunk.length;
      progress.add(chunk.length);
      done(null, chunk);
    },
  });
}

/** A web stream of a Node stream's bytes, counted (fetch sends web streams as request bodies, chunk by chunk). */
function countedBody(source: NodeJS.ReadableStream, progress: Progress, total: { bytes: number }): ReadableStream<Uint8Array> {
  const counted = Readable.from(source).pipe(counter(progress, total));
  return Readable.toWeb(counted) as unknown as ReadableStream<Uint8Array>;
}

/** A local file as an upload body. */
export function fileBody(file: string, progress: Progress, total: { bytes: number }): ReadableStream<Uint8Array> {
  return countedBody(createReadStream(file), progress, total);
}

/**
 * A local directory as a tar.gz upload body, built while it is sent. With
 * `asName` its entries sit under `name/` (copy into an existing directory);
 * without, they are the directory's contents (copy to a new path).
 */
export function directoryBody(dir: string, asName: boolean, progress: Progress, total: { bytes: number }): ReadableStream<Uint8Array> {
  const pack = asName
    ? tar.c({ gzip: true, portable: true, cwd: path.dirname(dir) }, [path.basename(dir)])
    : tar.c({ gzip: true, portable: true, cwd: dir }, ['.']);
  return countedBody(pack as unknown as NodeJS.ReadableStream, progress, total);
}

const fromWeb = (body: ReadableStream<Uint8Array>) => Readable.fromWeb(body as unknown as WebReadableStream<Uint8Array>);

/** Writes a download to `file` through a temp file beside it, renamed at the end (never a half-written file). */
export async function saveFile(
  body: ReadableStream<Uint8Array>,
  file: string,
  mode: number | undefined,
  progress: Progress,
  total: { bytes: number },
): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.cove-${process.pid}-${Date.now()}`);
  try {
    await pipeline(fromWeb(body), counter(progress, total), createWriteStream(temp, { flags: 'wx' }));
    if (mode !== undefined) await chmod(temp, mode);
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Extracts a tar.gz download into `dir` (created if missing), dropping `strip` leading path components. */
export async function extractArchive(
  body: ReadableStream<Uint8Array>,
  dir: string,
  strip: number,
  progress: Progress,
  total: { bytes: number },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  // node-tar refuses absolute names and `..` by default, so an archive cannot write outside `dir`.
  await pipeline(fromWeb(body), counter(progress, total), tar.x({ cwd: dir, strip, preserveOwner: false }));
}
