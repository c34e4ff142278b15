// A request body that is a file (an archive to keep, an image to import): its content type and declared size
// checked before a byte is read, then streamed to a private file with a size cap and back-pressure.
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { AppError } from '@cove/protocol';

/** Content types a tar (plain or gzipped) may come as. */
export const TAR_TYPES = ['application/x-tar', 'application/tar', 'application/octet-stream', 'application/gzip', 'application/x-gzip'];

export class FileBody {
  readonly #types: ReadonlySet<string>;

  /**
   * `what` names the file in messages (`archive larger than …`); `types` are the content types it may come as,
   * anything else (JSON, forms) is 415 saying `expected`.
   */
  constructor(
    readonly what: string,
    types: readonly string[],
    readonly expected: string,
  ) {
    this.#types = new Set(types);
  }

  checkType(contentType: string | undefined): void {
    const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (!this.#types.has(type)) {
      throw new AppError(
        'unsupported_media_type',
        `send the archive as ${this.expected} (got ${type === '' ? 'no content type' : `'${type.slice(0, 80)}'`})`,
      );
    }
  }

  tooLarge(maxBytes: number): AppError {
    return new AppError('payload_too_large', `${this.what} larger than ${maxBytes} bytes`);
  }

  /** Refuses a declared size over the cap before a byte is read. */
  checkLength(contentLength: string | undefined, maxBytes: number): void {
    if (contentLength !== undefined && /^[0-9]+$/.test(contentLength) && Number(contentLength) > maxBytes) throw this.tooLarge(maxBytes);
  }

  /**
   * Streams `body` to the new file `file` (413 past `maxBytes`, 400 when empty or interrupted) and gives its
   * size; `onChunk` sees each chunk written (a hash, the first bytes). The part written on a failure is the
   * caller's to remove.
   */
  toFile(
    body: Readable,
    file: string,
    options: { maxBytes: number; signal: AbortSignal; onChunk?: (chunk: Buffer) => void },
  ): Promise<number> {
    const out = createWriteStream(file, { mode: 0o600, flags: 'wx' });
    const { signal } = options;
    let size = 0;
    return new Promise<number>((resolve, reject) => {
      const done = (err?: unknown) => {
        body.off('data', onData);
        body.off('end', onEnd);
        body.off('error', onInterrupted);
        body.off('aborted', onInterrupted);
        signal.removeEventListener('abort', onInterrupted);
        if (err === undefined) {
          out.end(() => (size === 0 ? reject(new AppError('bad_request', `empty request body: send the ${this.what}`)) : resolve(size)));
          return;
        }
        out.destroy();
        reject(err);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBytes) return done(this.tooLarge(options.maxBytes));
        options.onChunk?.(chunk);
        if (!out.write(chunk)) {
          body.pause();
          out.once('drain', () => body.resume());
        }
      };
      const onEnd = () => done();
      const onInterrupted = () => done(new AppError('bad_request', 'upload interrupted'));
      out.on('error', (err) => done(err));
      body.on('data', onData);
      body.on('end', onEnd);
      body.on('error', onInterrupted);
      body.on('aborted', onInterrupted);
      signal.addEventListener('abort', onInterrupted, { once: true });
    });
  }
}
