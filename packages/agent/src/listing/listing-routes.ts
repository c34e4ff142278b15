import { stat } from 'node:fs/promises';
import { AppError, ErrorResponse, FileSearchQuery, FileSearchResponse, ListQuery, ListResponse, StreamEvent } from '@cove/protocol';
import type { FastifyReply } from 'fastify';
import type { AgentApp, AgentContext } from '../context.js';
import { fromSystemError, withPath } from '../http/errno.js';
import { type ResponseStream, startStream } from '../http/streaming.js';
import { resolveOptionalPath } from '../paths/resolve.js';
import { ContentBudget, fillDetails } from './entry-details.js';
import { searchFiles } from './file-search.js';
import { isPlainFlatListing, writeFlatListing } from './flat-listing.js';
import { type IgnoreChain, inheritedRules } from './ignore-rules.js';
import { EntryFilter, type ListOptions, parseListQuery } from './list-options.js';
import { type WalkSignal, walkForList } from './list-walker.js';
import { type NativeLister, nativeCanList } from './native-listing.js';
import { openRoot, streamWalk } from './stream-walker.js';

export interface ListingLimits {
  /** Entries `GET /files` returns before it stops with `truncated: true`. */
  readonly entryCap: number;
  /** Largest `max_results` of filename search (larger values are lowered to it). */
  readonly searchCap: number;
}

/** A walk stops when the client goes away before its answer is written. */
function clientSignal(reply: FastifyReply): WalkSignal {
  const signal = { aborted: false };
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) signal.aborted = true;
  });
  return signal;
}

/** 404 if missing, 400 if not a directory (symlinks to directories are followed: the caller named it). */
async function requireDirectory(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    throw fromSystemError(err, path);
  }
  if (!info.isDirectory()) throw new AppError('bad_request', `path is not a directory: ${path}`);
}

/** The body of `GET /files`, built as objects (the general path; see `writeFlatListing` for the fast one). */
export async function listResponse(
  options: ListOptions,
  inherited: IgnoreChain | undefined,
  tree: boolean,
  cap: number,
  signal: WalkSignal,
): Promise<ListResponse> {
  const result = await withPath(options.root, () => walkForList(options, inherited, tree, cap, signal));
  await fillDetails(result.records, options, new ContentBudget(options.contentBudget));
  return {
    success: true as const,
    path: options.root,
    entries: result.entries,
    count: result.records.length,
    ...(result.truncated ? { truncated: true as const } : {}),
  };
}

export function registerListingRoutes(app: AgentApp, ctx: AgentContext, limits: ListingLimits, lister: NativeLister): void {
  app.get(
    '/files',
    {
      schema: {
        summary: 'List a directory (tree or flat, sorted by path)',
        querystring: ListQuery,
        response: { 200: ListResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const options = parseListQuery(request.query, ctx.workdir, false);
      await requireDirectory(options.root);
      const inherited = options.useGitignore ? await inheritedRules(options.root) : undefined;
      const signal = clientSignal(reply);
      const tree = request.query.flatten !== true;
      if (!isPlainFlatListing(options, tree)) return listResponse(options, inherited, tree, limits.entryCap, signal);
      let out: ResponseStream | undefined;
      const begin = () => {
        const stream = startStream(reply, 200, { 'content-type': 'application/json; charset=utf-8' });
        out = stream;
        return (chunk: string | Uint8Array) => stream.write(chunk);
      };
      try {
        if (nativeCanList(options, inherited) && (await lister.write(options, limits.entryCap, signal, begin))) {
          out?.end();
          return;
        }
        await withPath(options.root, () => writeFlatListing(options, inherited, limits.entryCap, signal, begin));
      } catch (err) {
        if (out === undefined) throw err;
        // Headers are gone: a cut body is the only way left to say it failed.
        request.log.error({ err }, 'listing failed midway');
        out.raw.destroy();
        return;
      }
      out?.end();
    },
  );

  app.get(
    '/files/stream',
    {
      schema: {
        summary: 'Stream a directory tree as NDJSON (file-system order, constant memory)',
        description:
          'Lines: `{"event":"start","path"}`, one entry per line (as in `GET /files`, flat), then `{"event":"done","count"}` — or `{"event":"error","error"}` if the walk fails midway.',
        querystring: ListQuery,
        response: { 200: StreamEvent, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const options = parseListQuery(request.query, ctx.workdir, true);
      await requireDirectory(options.root);
      const inherited = options.useGitignore ? await inheritedRules(options.root) : undefined;
      const handle = await withPath(options.root, () => openRoot(options.root));
      const out = startStream(reply, 200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
      const signal = {
        get aborted() {
          return out.closed;
        },
      };
      try {
        await out.write(`${JSON.stringify({ event: 'start', path: options.root })}\n`);
        const count = await streamWalk(handle, options, inherited, (chunk) => out.write(chunk), signal);
        if (!out.closed) await out.write(`${JSON.stringify({ event: 'done', count })}\n`);
      } catch (err) {
        request.log.error({ err }, 'directory stream failed');
        const message = err instanceof Error ? err.message : String(err);
        await out.write(`${JSON.stringify({ event: 'error', error: message })}\n`);
      } finally {
        out.end();
      }
    },
  );

  app.get(
    '/files/search/files',
    {
      schema: {
        summary: 'Find files whose path (relative to `path`) contains `q`',
        querystring: FileSearchQuery,
        response: { 200: FileSearchResponse, '4xx': ErrorResponse },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const root = resolveOptionalPath(query.path, '/', ctx.workdir);
      await requireDirectory(root);
      const useGitignore = query.use_gitignore !== false && query.no_gitignore !== true;
      const filter = new EntryFilter({
        patterns: query.ignore_patterns,
        useGitignore,
        skipHidden: query.include_hidden !== true,
      });
      const inherited = useGitignore ? await inheritedRules(root) : undefined;
      const maxResults = Math.min(query.max_results ?? 200, limits.searchCap);
      const result = await withPath(root, () =>
        searchFiles(
          { root, query: query.q, caseSensitive: query.case_sensitive === true, maxResults, filter },
          inherited,
          clientSignal(reply),
        ),
      );
      return {
        success: true as const,
        query: query.q,
        path: root,
        files: result.files,
        total_files: result.files.length,
        capped: result.capped,
      };
    },
  );
}
