// Search tools: file contents through ripgrep in the workspace (installed when missing), file names by a walk.
import { ContentSearchQuery, FileSearchQuery } from '@cove/protocol';
import { APIError, type ContentSearchOptions, type Runtime } from '@cove/sdk';
import { Type } from '@sinclair/typebox';
import { cutAtLine } from '../bounded.js';
import { defineTool, described, type Tool } from '../tool.js';
import { runtimeOf, WorkspaceRef } from '../workspace-ref.js';

/** Bytes of matches one answer carries at most. */
const MAX_TEXT_BYTES = 256 * 1024;
/** How long a ripgrep install another caller started may take before the search gives up on it. */
const INSTALL_WAIT_MS = 120_000;

const content = ContentSearchQuery.properties;
const names = FileSearchQuery.properties;

const missingRipgrep = (err: unknown) => err instanceof APIError && err.code === 'ripgrep_not_installed';

/**
 * Installs ripgrep in the workspace (`POST /files/search/init`). When an install is already running (409
 * `install_in_progress`), waits for it by asking the status.
 */
async function installRipgrep(rt: Runtime, signal: AbortSignal): Promise<void> {
  try {
    await rt.search.init({ signal, timeout: INSTALL_WAIT_MS });
    return;
  } catch (err) {
    if (!(err instanceof APIError && err.code === 'install_in_progress')) throw err;
  }
  const deadline = Date.now() + INSTALL_WAIT_MS;
  while (Date.now() < deadline) {
    const status = await rt.search.status({ signal });
    if (status.installed) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const searchContent = defineTool({
  name: 'workspace_search',
  title: 'Search file contents in a workspace',
  description:
    'Search file contents in a workspace with ripgrep (installed in the workspace when missing): matching lines as ' +
    'path:line:column:text. Literal text unless regex is true; case-insensitive unless case_sensitive; .gitignore applies.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      query: described(content.q, 'Text to search for (a Rust regular expression when regex is true)'),
      path: described(content.path, "Directory or file to search (default: the workspace's working directory)"),
      regex: content.regex,
      case_sensitive: content.case_sensitive,
      whole_word: content.whole_word,
      context_lines: content.context_lines,
      file_types: content.file_types,
      include_hidden: content.include_hidden,
      no_gitignore: content.no_gitignore,
      ignore_patterns: content.ignore_patterns,
      max_results: content.max_results,
      timeout: content.timeout,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    const options: ContentSearchOptions = {
      query: args.query,
      path: args.path ?? '.',
      ...(args.regex !== undefined ? { regex: args.regex } : {}),
      ...(args.case_sensitive !== undefined ? { caseSensitive: args.case_sensitive } : {}),
      ...(args.whole_word !== undefined ? { wholeWord: args.whole_word } : {}),
      ...(args.context_lines !== undefined ? { contextLines: args.context_lines } : {}),
      ...(args.file_types !== undefined ? { fileTypes: args.file_types } : {}),
      ...(args.include_hidden !== undefined ? { includeHidden: args.include_hidden } : {}),
      ...(args.no_gitignore !== undefined ? { noGitignore: args.no_gitignore } : {}),
      ...(args.ignore_patterns !== undefined ? { ignorePatterns: args.ignore_patterns } : {}),
      ...(args.max_results !== undefined ? { maxResults: args.max_results } : {}),
      ...(args.timeout !== undefined ? { timeout: args.timeout } : {}),
    };
    let installed = false;
    let found: Awaited<ReturnType<Runtime['search']['content']>>;
    try {
      found = await rt.search.content(options, { signal });
    } catch (err) {
      if (!missingRipgrep(err)) throw err;
      await installRipgrep(rt, signal);
      installed = true;
      found = await rt.search.content(options, { signal });
    }
    const lines: string[] = [];
    for (const file of found.results) {
      for (const m of file.matches) {
        let n = m.line - (m.context_before?.length ?? 0);
        for (const before of m.context_before ?? []) lines.push(`${file.path}-${n++}-${before}`);
        lines.push(`${file.path}:${m.line}:${m.column}:${m.text}`);
        n = m.line + 1;
        for (const after of m.context_after ?? []) lines.push(`${file.path}-${n++}-${after}`);
      }
    }
    const cut = cutAtLine(lines.join('\n'), MAX_TEXT_BYTES);
    const notes = [
      installed ? '(ripgrep was missing in the workspace: installed it)' : '',
      found.capped ? `[stopped at ${found.total_matches} matches: raise max_results or narrow path]` : '',
      cut.truncated ? `[… ${cut.omitted} bytes of matches cut: narrow the search]` : '',
    ].filter((n) => n !== '');
    const summary =
      found.total_matches === 0
        ? `no matches under ${found.path}`
        : `${found.total_matches} matches in ${found.total_files} files under ${found.path}`;
    return {
      text: [summary, cut.text, ...notes].filter((part) => part !== '').join('\n'),
      structured: {
        workspace_id: id,
        ...found.raw,
        truncated: cut.truncated,
        ...(installed ? { ripgrep_installed: true } : {}),
      },
    };
  },
});

const findFiles = defineTool({
  name: 'workspace_find_files',
  title: 'Find files by name in a workspace',
  description:
    'Find files in a workspace whose path (relative to path) contains query, case-insensitive unless case_sensitive. ' +
    '.gitignore applies unless use_gitignore is false.',
  input: Type.Object(
    {
      workspace: WorkspaceRef,
      query: described(names.q, 'Part of the file path to look for (for example "controller" or ".test.ts")'),
      path: described(names.path, "Directory to search in (default: the workspace's working directory)"),
      case_sensitive: names.case_sensitive,
      include_hidden: names.include_hidden,
      use_gitignore: names.use_gitignore,
      ignore_patterns: names.ignore_patterns,
      max_results: names.max_results,
    },
    { additionalProperties: false },
  ),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(args, { client, signal }) {
    const { id, rt } = await runtimeOf(client, args.workspace, signal);
    const res = await rt.search.files(
      {
        query: args.query,
        path: args.path ?? '.',
        ...(args.case_sensitive !== undefined ? { caseSensitive: args.case_sensitive } : {}),
        ...(args.include_hidden !== undefined ? { includeHidden: args.include_hidden } : {}),
        ...(args.ignore_patterns !== undefined ? { ignorePatterns: args.ignore_patterns } : {}),
        ...(args.max_results !== undefined ? { maxResults: args.max_results } : {}),
        ...(args.use_gitignore === false ? { noGitignore: true } : {}),
      },
      { signal },
    );
    const cut = cutAtLine(res.files.join('\n'), MAX_TEXT_BYTES);
    const notes = [
      res.capped ? `[stopped at ${res.total_files} files: raise max_results or narrow path]` : '',
      cut.truncated ? `[… ${cut.omitted} bytes of paths cut: narrow the search]` : '',
    ].filter((n) => n !== '');
    const summary =
      res.total_files === 0 ? `no files matching '${res.query}' under ${res.path}` : `${res.total_files} files under ${res.path}`;
    return {
      text: [summary, cut.text, ...notes].filter((part) => part !== '').join('\n'),
      structured: { workspace_id: id, ...res, truncated: cut.truncated },
    };
  },
});

export const SEARCH_TOOLS: readonly Tool[] = [searchContent, findFiles];
