import type {
  FileMoveResponse,
  FileReadResponse,
  FileStatResponse,
  FileWriteResponse,
  ListResponse,
  PathResponse,
  TransferUploadResponse,
  FileEntry as WireFileEntry,
} from '@cove/protocol';
import { toWire } from '../core/case.js';
import { lines } from '../core/lines.js';
import type { RequestBody, RequestOptions } from '../core/transport.js';
import type { RuntimeHttp } from './runtime-http.js';

/** One entry of a listing; in tree mode, directories carry their `children`. */
export type FileEntry = Omit<WireFileEntry, 'children'> & { children?: FileEntry[] };

export interface ListOptions {
  /** Directory to list (default `/`). `path` works too. */
  dirPath?: string;
  path?: string;
  nested?: boolean;
  flatten?: boolean;
  light?: boolean;
  includeHash?: boolean;
  includeContent?: boolean;
  includeExtensions?: boolean;
  codeFilesOnly?: boolean;
  useGitignore?: boolean;
  maxDepth?: number;
  pathFilter?: string;
  /** Extensions to include: `['ts', 'go']` or `'ts,go'`. */
  includeExt?: string | string[];
  /** Globs to skip: `['*.log']` or `'*.log,tmp'`. */
  ignorePatterns?: string | string[];
  maxContentBudget?: number;
}

/** `GET /files`. */
export type ListResult = Omit<ListResponse, 'entries'> & { entries: FileEntry[] };

export interface ReadOptions {
  filePath?: string;
  path?: string;
  startLine?: number;
  endLine?: number;
  withLineNumbers?: boolean;
}

export type ReadResult = FileReadResponse;

export interface WriteOptions {
  fullPath?: string;
  path?: string;
  content: string;
  createDirs?: boolean;
  append?: boolean;
  /** Octal permissions, e.g. `'0644'`. */
  mode?: string;
}

export type StatResult = FileStatResponse;

const LIST_RENAMES = { dirPath: 'path' };

/**
 * Files in the workspace (`rt.files`).
 *
 * @example
 * const { entries } = await rt.files.list({ dirPath: '/app/src', nested: true, flatten: true });
 * const file = await rt.files.read({ filePath: '/app/src/main.go', startLine: 10, endLine: 25 });
 * await rt.files.write({ fullPath: '/app/hello.txt', content: 'Hello', createDirs: true });
 */
export class Files {
  readonly #http: RuntimeHttp;

  constructor(http: RuntimeHttp) {
    this.#http = http;
  }

  /** Lists a directory (`GET /files`). */
  list(options: ListOptions = {}, request?: RequestOptions): Promise<ListResult> {
    return this.#http.json({ method: 'GET', path: '/files', query: listQuery(options) }, request);
  }

  /**
   * Streams a directory's entries as they are found (`GET /files/stream`, NDJSON).
   * Breaking out of the loop cancels the request.
   *
   * @example
   * for await (const entry of rt.files.stream({ dirPath: '/app' })) console.log(entry.path);
   */
  async *stream(options: ListOptions = {}, request: RequestOptions = {}): AsyncGenerator<FileEntry> {
    const res = await this.#http.send({ method: 'GET', path: '/files/stream', query: listQuery(options) }, request);
    if (!res.body) return;
    for await (const line of lines(res.body, request.signal)) {
      if (line.trim() === '') continue;
      const value = JSON.parse(line) as FileEntry & { event?: string; error?: string };
      if (value.event === 'error') throw new Error(`listing failed midway: ${value.error ?? 'unknown error'}`);
      if (value.event) continue;
      yield value;
    }
  }

  /** Reads a text file, or a range of its lines (`GET /files/read`). */
  read(options: ReadOptions, request?: RequestOptions): Promise<ReadResult> {
    const query = toWire(options, { filePath: 'path' }) as Record<string, string | number | boolean>;
    return this.#http.json({ method: 'GET', path: '/files/read', query }, request);
  }

  /** Creates or replaces a file atomically, or appends to it (`POST /files/write`). */
  write(options: WriteOptions, request?: RequestOptions): Promise<FileWriteResponse> {
    return this.#http.json({ method: 'POST', path: '/files/write', json: toWire(options, { fullPath: 'path' }) }, request);
  }

  /** Creates a directory and its parents (`POST /files/mkdir`). */
  mkdir(options: { path: string; mode?: string }, request?: RequestOptions): Promise<PathResponse> {
    return this.#http.json({ method: 'POST', path: '/files/mkdir', json: toWire(options) }, request);
  }

  /** Details of a file, directory or symlink (`GET /files/stat`). */
  stat(options: { path: string }, request?: RequestOptions): Promise<StatResult> {
    return this.#http.json({ method: 'GET', path: '/files/stat', query: { path: options.path } }, request);
  }

  /** Deletes a file, or a directory recursively (`DELETE /files/delete`). */
  delete(options: { path: string }, request?: RequestOptions): Promise<PathResponse> {
    return this.#http.json({ method: 'DELETE', path: '/files/delete', query: { path: options.path } }, request);
  }

  /** Renames a file or directory (`POST /files/move`). */
  move(options: { source: string; destination: string; overwrite?: boolean }, request?: RequestOptions): Promise<FileMoveResponse> {
    return this.#http.json({ method: 'POST', path: '/files/move', json: toWire(options) }, request);
  }

  /**
   * Downloads a file's raw bytes (`GET /files/download`), optionally a byte range.
   *
   * @example
   * const bytes = await rt.files.download({ path: '/app/logo.png' });
   */
  async download(options: { path: string; start?: number; end?: number }, request?: RequestOptions): Promise<Uint8Array> {
    const res = await this.downloadStream(options, request);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Like `download`, returning the `Response` to stream its body. */
  downloadStream(options: { path: string; start?: number; end?: number }, request?: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = {};
    if (options.start !== undefined || options.end !== undefined) headers.range = `bytes=${options.start ?? 0}-${options.end ?? ''}`;
    return this.#http.send({ method: 'GET', path: '/files/download', query: { path: options.path }, headers }, request);
  }

  /**
   * Uploads raw bytes to a file, atomically (`PUT /files/upload`). `body` may be a stream.
   *
   * @example
   * await rt.files.upload({ path: '/app/data.bin', body: new Uint8Array([1, 2, 3]) });
   */
  upload(
    options: { path: string; body: RequestBody; createDirs?: boolean; mode?: string },
    request?: RequestOptions,
  ): Promise<{ success: true; path: string; size: number }> {
    const { body, ...rest } = options;
    return this.#http.json(
      {
        method: 'PUT',
        path: '/files/upload',
        query: toWire(rest) as Record<string, string>,
        body,
        headers: { 'content-type': 'application/octet-stream' },
      },
      request,
    );
  }

  /** Downloads paths as a tar.gz stream (`POST /files/transfer/download`). */
  downloadArchive(options: { paths: string[]; excludePatterns?: string[] }, request?: RequestOptions): Promise<Response> {
    return this.#http.send({ method: 'POST', path: '/files/transfer/download', json: toWire(options) }, request);
  }

  /** Extracts a tar.gz body into a directory (`POST /files/transfer/upload`). */
  uploadArchive(options: { dest?: string; body: RequestBody }, request?: RequestOptions): Promise<TransferUploadResponse> {
    return this.#http.json(
      {
        method: 'POST',
        path: '/files/transfer/upload',
        query: { dest: options.dest ?? '/' },
        body: options.body,
        headers: { 'content-type': 'application/gzip' },
      },
      request,
    );
  }
}

function listQuery(options: ListOptions): Record<string, string | number | boolean> {
  const wire = toWire(options, LIST_RENAMES);
  for (const key of ['include_ext', 'ignore_patterns']) {
    const value = wire[key];
    if (Array.isArray(value)) wire[key] = value.join(',');
  }
  return wire as Record<string, string | number | boolean>;
}
