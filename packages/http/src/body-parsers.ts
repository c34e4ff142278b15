import { AppError } from '@cove/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Route option: the handler reads `request.raw` itself (uploads, stdin bytes). */
export interface RawBodyConfig {
  rawBody?: boolean;
}

/**
 * JSON bodies are parsed leniently, because real clients are lenient:
 * - an empty body with `Content-Type: application/json` is `{}` (the
 *   official SDK sends exactly that for bodiless POSTs);
 * - a JSON body under another content type (curl's `-d` defaults to
 *   form encoding) is parsed as JSON too.
 * Routes marked `config.rawBody` get the untouched stream in `request.raw`.
 */
export function installBodyParsers(app: FastifyInstance, bodyLimit: number): void {
  app.removeAllContentTypeParsers();

  const parseJson = (request: FastifyRequest, payload: NodeJS.ReadableStream, done: (err: Error | null, body?: unknown) => void) => {
    if ((request.routeOptions.config as RawBodyConfig | undefined)?.rawBody) {
      done(null);
      return;
    }
    readLimited(payload, bodyLimit).then(
      (text) => {
        if (text.trim().length === 0) return done(null, {});
        try {
          done(null, JSON.parse(text));
        } catch (err) {
          done(new AppError('invalid_json', `malformed JSON body: ${(err as Error).message}`));
        }
      },
      (err: Error) => done(err),
    );
  };

  app.addContentTypeParser('*', parseJson);
  app.addContentTypeParser('application/json', parseJson);
}

function readLimited(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    stream.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new AppError('payload_too_large', `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    stream.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}
