import type { ExecMode } from '@cove/protocol';
import { badParam } from '@cove/protocol';

/** What to spawn: a file and its argv (without argv[0]), and whether a shell was chosen. */
export interface Invocation {
  file: string;
  args: string[];
  shell: boolean;
}

/** Bare shell operators: an argv element equal to one of these asks for a shell in auto mode. */
const OPERATORS = new Set(['|', '||', '&&', ';', '&', '<', '>', '>>', '2>', '2>&1', '&>', '|&']);

/**
 * Characters that mean something to `/bin/sh` in a single command string:
 * pipes, lists, redirections, substitutions, quoting, globs, comments,
 * subshells, braces, home expansion and line breaks.
 */
const SHELL_META = /[|&;<>()$`\\"'*?[\]#~{}\n\r]/;
/** `NAME=value cmd`: an environment assignment only a shell understands. */
const LEADING_ASSIGNMENT = /^\s*[A-Za-z_][A-Za-z0-9_]*=/;

const SHELL = '/bin/sh';

/**
 * Decides how a command runs (SPEC "Exec"):
 * - `direct`: argv as given; a single string is split on whitespace, respecting quotes.
 * - `shell`: `/bin/sh -c` on the single string, or on the arguments joined by spaces.
 * - `auto`: the shell for a single string with shell metacharacters or when an
 *   argument is a bare operator, otherwise direct. So `["sh","-c","a | b"]` and
 *   `["npm","test"]` run as given and `"ls | wc -l"` is a pipeline.
 */
export function resolveInvocation(command: readonly string[], mode: ExecMode): Invocation {
  const single = command.length === 1 ? command[0] : undefined;
  let useShell: boolean;
  if (mode === 'shell') useShell = true;
  else if (mode === 'direct') useShell = false;
  else if (single !== undefined) useShell = SHELL_META.test(single) || LEADING_ASSIGNMENT.test(single);
  else useShell = command.some((arg) => OPERATORS.has(arg));

  if (useShell) return { file: SHELL, args: ['-c', command.join(' ')], shell: true };
  const argv = single !== undefined ? splitWords(single) : [...command];
  const file = argv.shift();
  if (file === undefined || file === '') throw badParam('cmd', 'no program to run');
  return { file, args: argv, shell: false };
}

/**
 * Splits a command string into words the way a shell's tokenizer would,
 * without any expansion: whitespace separates words, single quotes keep
 * everything, double quotes keep everything but `\"`, `\\`, `\$` and `` \` ``,
 * and a backslash outside quotes escapes the next character.
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw badParam('cmd', 'unterminated single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw badParam('cmd', 'unterminated double quote');
        const d = line[i] as string;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) {
          word += line[i + 1];
          i += 2;
        } else {
          word += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
