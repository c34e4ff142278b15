// Wire schemas of the files domain: read, write, mkdir, stat, delete, move,
// download, upload and the tar.gz transfers.
import { type Static, Type } from '@sinclair/typebox';
import { Open, QueryBool } from './common.js';

const PathParam = (description: string) => Type.String({ description });
const LineNumber = (description: string) => Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description });
const ModeParam = (fallback: string) =>
  Type.String({ description: `Permissions in octal, e.g. "${fallback}" or "755". Default "${fallback}".` });

/** `GET /files/read` */
export const FileReadQuery = Open({
  path: PathParam('Absolute path of the file (relative paths resolve against the workdir)'),
  start_line: Type.Optional(LineNumber('First line to read (1-based)')),
  end_line: Type.Optional(LineNumber('Last line to read (1-based, inclusive)')),
  with_line_numbers: Type.Optional(QueryBool(false, 'Prefix each line with its 1-based number and a tab')),
});

export const FileReadResponse = Type.Object({
  success: Type.Literal(true),
  path: Type.String(),
  content: Type.String(),
  size: Type.Integer({ description: "The file's size in bytes" }),
  lines: Type.Integer({ description: 'Number of lines returned' }),
  extension: Type.String({ description: 'Extension with its dot (".go"), or ""' }),
  start_line: Type.Optional(Type.Integer({ description: 'Only when a line range was requested' })),
  end_line: Type.Optional(Type.Integer({ description: 'Only when a line range was requested' })),
});

/** `POST|PUT /files/write` */
export const FileWriteBody = Open({
  path: PathParam('Path of the file to write'),
  content: Type.String({ description: 'File content' }),
  create_dirs: Type.Optional(Type.Boolean({ default: false, description: 'Create missing parent directories' })),
  append: Type.Optional(Type.Boolean({ default: false, description: 'Append instead of replacing (not atomic)' })),
  mode: Type.Optional(ModeParam('0644')),
  encoding: Type.Optional(
    Type.Union([Type.Literal('utf8'), Type.Literal('utf-8'), Type.Literal('base64')], {
      description: 'How `content` is encoded (extension; default utf8)',
    }),
  ),
});

export const FileWriteResponse = Type.Object({
  success: Type.Literal(true),
  path: Type.String(),
  size: Type.Integer({ description: "The file's size in bytes after the write" }),
});

/** `POST /files/mkdir` */
export const FileMkdirBody = Open({
  path: PathParam('Directory to create (parents are created too)'),
  mode: Type.Optional(ModeParam('0755')),
});

export const PathResponse = Type.Object({ success: Type.Literal(true), path: Type.String() });

/** `GET /files/stat` */
export const FileStatQuery = Open({ path: PathParam('Path of the file or directory') });

export const FileStatResponse = Type.Object({
  success: Type.Literal(true),
  path: Type.String(),
  name: Type.String(),
  type: Type.Union([Type.Literal('file'), Type.Literal('directory'), Type.Literal('symlink'), Type.Literal('other')]),
  size: Type.Integer(),
  modified: Type.String({ description: 'ISO 8601 modification time' }),
  permissions: Type.String({ description: 'Octal, e.g. "0644"' }),
  is_code: Type.Boolean(),
  extension: Type.Optional(Type.String({ description: 'Files only' })),
  symlink_target: Type.Optional(Type.String({ description: 'Only for symlinks: the link text' })),
});

/** `DELETE|POST /files/delete`: the path comes from the query or the body. */
export const FileDeleteQuery = Open({ path: Type.Optional(PathParam('Path to delete (or in the body)')) });
export const FileDeleteBody = Type.Union([Open({ path: Type.Optional(PathParam('Path to delete')) }), Type.Null()]);

/** `POST /files/move` (extension) */
export const FileMoveBody = Open({
  source: PathParam('Existing file or directory'),
  destination: PathParam('New path'),
  overwrite: Type.Optional(Type.Boolean({ default: false, description: 'Replace an existing destination' })),
  create_dirs: Type.Optional(Type.Boolean({ default: false, description: "Create the destination's missing parents" })),
});

export const FileMoveResponse = Type.Object({
  success: Type.Literal(true),
  source: Type.String(),
  destination: Type.String(),
});

/** `GET /files/download` (extension): raw bytes, `Range` supported. */
export const FileDownloadQuery = Open({ path: PathParam('File to download') });

/** `PUT|POST /files/upload` (extension): the raw request body becomes the file. */
export const FileUploadQuery = Open({
  path: PathParam('File to create or replace'),
  create_dirs: Type.Optional(QueryBool(false, 'Create missing parent directories')),
  mode: Type.Optional(ModeParam('0644')),
});

/** `POST /files/transfer/download` (official SDK: CLI pull) */
export const TransferDownloadBody = Open({
  paths: Type.Array(Type.String(), { minItems: 1, maxItems: 10_000, description: 'Files or directories to pack' }),
  exclude_patterns: Type.Optional(
    Type.Union([Type.Array(Type.String(), { maxItems: 10_000 }), Type.Null()], {
      description: 'Glob patterns matched against entry names and relative paths (e.g. "node_modules")',
    }),
  ),
});

/** `POST /files/transfer/upload?dest=` (official SDK: CLI push) */
export const TransferUploadQuery = Open({
  dest: Type.Optional(Type.String({ description: 'Directory to extract into (default "/")' })),
});

export const TransferUploadResponse = Type.Object({
  success: Type.Literal(true),
  dest: Type.String(),
  files_extracted: Type.Integer({ description: 'Entries written (files, directories, links)' }),
});

// Types of the answers, for clients (the SDK) and tests.
export type FileReadResponse = Static<typeof FileReadResponse>;
export type FileWriteResponse = Static<typeof FileWriteResponse>;
export type PathResponse = Static<typeof PathResponse>;
export type FileStatResponse = Static<typeof FileStatResponse>;
export type FileMoveResponse = Static<typeof FileMoveResponse>;
export type TransferUploadResponse = Static<typeof TransferUploadResponse>;
