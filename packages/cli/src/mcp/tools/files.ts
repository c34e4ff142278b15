// File tools: read (line ranges), write, edit (exact-string replace, the way coding agents edit) and list.
import { FileReadQuery, FileWriteBody, ListQuery } from '@cove/protocol';
import type { FileEntry } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { cutAtLine } from '../bounded.js';
import { defineTool, described, type Tool } from '../tool.js';
import { toolError } from '../tool-error.js';
import { runtimeOf, WorkspaceRef } from '../workspace-ref.js';

/** Bytes of file text one read returns at most; the answer says where to go on from. */
const MAX_READ_BYTES = 256 * 1024;
const DEFAULT_MAX_ENTRIES = 1000;

const read = FileReadQuery.properties;
const write = FileWriteBody.properties;
const list = ListQuery.properties;

const readFile = defineTool({
  name: 'workspace_read_file',
  title: 'Read a file in a workspace',
  description:
    `Read a text file in a workspace, whole or a range of lines (start_line, end_line, 1-based, inclusive). Answers longer than ` +
    `${MAX_READ_BYTES} bytes stop at a line break and say which start_line to read on from.`,
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      path: read.path,
      start_line: read.start_line,
      end_line: read.end_line,
      with_line_numbers: read.with_line_numbers,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    const res = await rt.files.read(
      {
        filePath: args.path,
        ...(args.start_line !== undefined ? { startLine: args.start_line } : {}),
        ...(args.end_line !== undefined ? { endLine: args.end_line } : {}),
        ...(args.with_line_numbers !== undefined ? { withLineNumbers: args.with_line_numbers } : {}),
      },
      { signal },
    );
    const first = res.start_line ?? args.start_line ?? 1;
    const cut = cutAtLine(res.content, MAX_READ_BYTES);
    const next = first + cut.lines;
    const note = cut.truncated ? `\n[… truncated: ${cut.omitted} more bytes; read on with start_line=${next}]` : '';
    return {
      text: `${cut.text}${note}`,
      structured: {
        workspace_id: id,
        path: res.path,
        content: cut.text,
        size: res.size,
        lines: cut.lines,
        start_line: first,
        truncated: cut.truncated,
        omitted_bytes: cut.omitted,
        ...(cut.truncated ? { next_start_line: next } : {}),
      },
    };
  },
});

const writeFile = defineTool({
  name: 'workspace_write_file',
  title: 'Write a file in a workspace',
  description:
    'Create or replace a file in a workspace with the given text (atomically: readers see the old or the new file, never half). ' +
    'Missing parent directories are created. An existing file keeps its permissions.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      path: write.path,
      content: write.content,
      create_dirs: Type.Boolean({ default: true, description: 'Create missing parent directories (default true)' }),
      append: write.append,
      mode: write.mode,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    const res = await rt.files.write(
      {
        fullPath: args.path,
        content: args.content,
        createDirs: args.create_dirs,
        ...(args.append !== undefined ? { append: args.append } : {}),
        ...(args.mode !== undefined ? { mode: args.mode } : {}),
      },
      { signal },
    );
    return { text: `wrote ${res.path} (${res.size} bytes)`, structured: { workspace_id: id, path: res.path, size: res.size } };
  },
});

/** 1-based line numbers where each occurrence of `needle` starts. */
function occurrenceLines(text: string, needle: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let scanned = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) {
    line += countNewlines(text, scanned, at);
    scanned = at;
    lines.push(line);
  }
  return lines;
}

function countNewlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) n++;
  return n;
}

const editFile = defineTool({
  name: 'workspace_edit_file',
  title: 'Edit a file in a workspace',
  description:
    'Replace an exact string in a file in a workspace. old_string must appear exactly once (copy it from workspace_read_file, ' +
    'whitespace and indentation included; add surrounding lines to make it unique), or set replace_all to replace every ' +
    'occurrence. Fails, changing nothing, when old_string is missing or not unique. The file keeps its permissions.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      path: Type.String({ minLength: 1, description: 'The file to edit' }),
      old_string: Type.String({ minLength: 1, description: 'The exact text to replace' }),
      new_string: Type.String({ description: 'The text to put in its place' }),
      replace_all: Type.Boolean({ default: false, description: 'Replace every occurrence instead of exactly one' }),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { client, signal }) {
    if (args.old_string === args.new_string) throw toolError('bad_request', 'old_string and new_string are the same: nothing to change');
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    // The raw bytes, not /files/read: no size cap of its own, and the text is written back exactly as it was around the edit.
    const bytes = await rt.files.download({ path: args.path }, { signal });
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw toolError('bad_request', `${args.path} is not UTF-8 text: edit it with workspace_exec`);
    }
    const at = occurrenceLines(text, args.old_string);
    if (at.length === 0) {
      throw toolError(
        'not_found',
        `old_string was not found in ${args.path}: read the file again (workspace_read_file) and copy the text exactly, whitespace and indentation included`,
      );
    }
    if (at.length > 1 && !args.replace_all) {
      const shown = at.slice(0, 10).join(', ') + (at.length > 10 ? ', …' : '');
      throw toolError(
        'conflict',
        `old_string occurs ${at.length} times in ${args.path} (lines ${shown}): include more surrounding lines to make it unique, or set replace_all`,
      );
    }
    const edited = args.replace_all
      ? text.split(args.old_string).join(args.new_string)
      : text.replace(args.old_string, () => args.new_string);
    const res = await rt.files.upload({ path: args.path, body: Buffer.from(edited, 'utf8') }, { signal });
    const where = at.length === 1 ? `line ${at[0]}` : `lines ${at.join(', ')}`;
    return {
      text: `replaced ${at.length} occurrence${at.length === 1 ? '' : 's'} in ${res.path} (${where}); ${res.size} bytes`,
      structured: { workspace_id: id, path: res.path, replacements: at.length, lines: at, size: res.size },
    };
  },
});

/** Entries of a (possibly nested) listing, depth first, as the model reads them: directories end with `/`. */
function* walk(entries: readonly FileEntry[]): Generator<FileEntry> {
  for (const entry of entries) {
    yield entry;
    if (entry.children) yield* walk(entry.children);
  }
}

const listFiles = defineTool({
  name: 'workspace_list_files',
  title: 'List files in a workspace',
  description:
    'List a directory in a workspace: one entry per line, directories ending with /, files with their size. nested lists ' +
    'subdirectories too (up to max_depth); .gitignore rules apply unless use_gitignore is false.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      path: described(list.path, "Directory to list (default: the workspace's working directory)"),
      nested: list.nested,
      max_depth: list.max_depth,
      path_filter: list.path_filter,
      include_ext: list.include_ext,
      ignore_patterns: list.ignore_patterns,
      use_gitignore: list.use_gitignore,
      max_entries: Type.Integer({
        minimum: 1,
        maximum: 50_000,
        default: DEFAULT_MAX_ENTRIES,
        description: `Entries returned at most (default ${DEFAULT_MAX_ENTRIES}); the answer says when there were more`,
      }),
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    const res = await rt.files.list(
      {
        dirPath: args.path ?? '.',
        ...(args.nested ? { nested: true, flatten: true } : {}),
        ...(args.max_depth !== undefined ? { maxDepth: args.max_depth } : {}),
        ...(args.path_filter !== undefined ? { pathFilter: args.path_filter } : {}),
        ...(args.include_ext !== undefined ? { includeExt: args.include_ext } : {}),
        ...(args.ignore_patterns !== undefined ? { ignorePatterns: args.ignore_patterns } : {}),
        ...(args.use_gitignore !== undefined ? { useGitignore: args.use_gitignore } : {}),
      },
      { signal },
    );
    const all = [...walk(res.entries)];
    const shown = all.slice(0, args.max_entries).map(({ children: _, ...entry }) => entry);
    const truncated = all.length > shown.length || res.truncated === true;
    const lines = shown.map((e) => (e.type === 'directory' ? `${e.path}/` : e.size !== undefined ? `${e.path}  ${e.size}` : e.path));
    const more = truncated
      ? `\n[… ${all.length - shown.length > 0 ? `${all.length - shown.length} more entries` : 'more entries'}: raise max_entries or narrow path]`
      : '';
    return {
      text: `${res.path}:\n${lines.join('\n') || '(empty)'}${more}`,
      structured: { workspace_id: id, path: res.path, entries: shown, count: shown.length, truncated },
    };
  },
});

export const FILE_TOOLS: readonly Tool[] = [readFile, writeFile, editFile, listFiles];
