// What the build must have before buildah starts: the images a Dockerfile's FROM lines name. buildah runs
// with `--pull-never` (the store is the only puller: its credentials, its registry rules), so every base is
// put into buildah's storage first. Only FROM is read here; buildah parses the rest.
import { AppError } from '@cove/protocol';

export interface BaseImage {
  /** The reference as the FROM line names it once build arguments are substituted. */
  reference: string;
  /** The line it is on (1-based), for error messages. */
  line: number;
}

/** The images the Dockerfile starts from: `scratch` and earlier stages' names left out, each once. */
export function baseImages(text: string, buildArgs: Readonly<Record<string, string>> = {}): BaseImage[] {
  const globalArgs = new Map<string, string>();
  const stages = new Set<string>();
  const bases: BaseImage[] = [];
  let seenFrom = false;
  for (const { instruction, args, line } of instructions(text)) {
    if (instruction === 'arg' && !seenFrom) {
      // ARGs before the first FROM are the only variables a FROM line can use; a build argument wins.
      for (const decl of args.split(/\s+/).filter(Boolean)) {
        const eq = decl.indexOf('=');
        const name = eq >= 0 ? decl.slice(0, eq) : decl;
        const value = Object.hasOwn(buildArgs, name) ? buildArgs[name] : eq >= 0 ? unquote(decl.slice(eq + 1)) : undefined;
        if (value !== undefined) globalArgs.set(name, value);
      }
      continue;
    }
    if (instruction !== 'from') continue;
    seenFrom = true;
    const words = args.split(/\s+/).filter((w) => w && !w.startsWith('--'));
    const image = expand(words[0] ?? '', globalArgs);
    if (!image) throw new AppError('bad_request', `Dockerfile line ${line}: FROM names no image`);
    const named = words.length === 3 && words[1]?.toLowerCase() === 'as';
    if (!named && words.length !== 1)
      throw new AppError('bad_request', `Dockerfile line ${line}: FROM takes an image and an optional 'AS name'`);
    // A FROM naming an earlier stage (checked before this stage's own name is added) starts from that stage.
    const fromStage = stages.has(image.toLowerCase());
    if (named) stages.add(expand(words[2] ?? '', globalArgs).toLowerCase());
    if (fromStage || image.toLowerCase() === 'scratch') continue;
    if (!bases.some((b) => b.reference === image)) bases.push({ reference: image, line });
  }
  if (!seenFrom) throw new AppError('bad_request', 'the Dockerfile has no FROM instruction');
  return bases;
}

interface Instruction {
  instruction: string;
  args: string;
  line: number;
}

/** The instructions with continuation lines joined and comments dropped (parser directives honoured: `# escape=`). */
function instructions(text: string): Instruction[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escapeChar = '\\';
  // Parser directives are `# key=value` comments at the very top, before anything else.
  for (const raw of lines) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(raw);
    if (!directive) break;
    if (directive[1]?.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) escapeChar = directive[2];
  }
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    const trimmed = raw.trim();
    // Comment lines are dropped, even inside a continued instruction (as Docker does).
    if (trimmed.startsWith('#') || (trimmed === '' && pending === '')) continue;
    if (pending === '') start = i + 1;
    const continued = trimmed.endsWith(escapeChar);
    pending += `${continued ? trimmed.slice(0, -1) : trimmed} `;
    if (continued) continue;
    const match = /^(\S+)\s*(.*)$/s.exec(pending.trim());
    if (match) out.push({ instruction: (match[1] ?? '').toLowerCase(), args: (match[2] ?? '').trim(), line: start });
    pending = '';
  }
  return out;
}

/** `$NAME`, `${NAME}`, `${NAME:-default}` and `${NAME:+alternative}`, as the Dockerfile language expands them. */
function expand(word: string, vars: ReadonlyMap<string, string>): string {
  return unquote(word).replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, braced, op, alt, bare) => {
      const value = vars.get(braced ?? bare);
      if (op === '-') return value ? value : alt;
      if (op === '+') return value ? alt : '';
      return value ?? '';
    },
  );
}

function unquote(text: string): string {
  return /^(["']).*\1$/.test(text) && text.length >= 2 ? text.slice(1, -1) : text;
}
