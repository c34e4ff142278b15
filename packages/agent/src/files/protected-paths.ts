import path from 'node:path';

/**
 * The system paths the reference protects from deletion, exactly as it lists
 * them. Anything that normalises or resolves to one of these is refused.
 */
export const PROTECTED_PATHS: ReadonlySet<string> = new Set([
  '/',
  '/bin',
  '/sbin',
  '/usr',
  '/lib',
  '/lib64',
  '/etc',
  '/dev',
  '/proc',
  '/sys',
  '/boot',
  '/run',
]);

export interface DeletionDecision {
  /** The path as the user spelled it, normalised (`.`, `..`, `//`, trailing `/` folded). */
  readonly normalised: string;
  /** What is actually removed: the parent resolved through symlinks, plus the final component (never followed). */
  readonly target: string;
  /** Whether either spelling is a protected path. */
  readonly protected: boolean;
}

/** Splits a normalised absolute path into its parent directory and final component. */
export function splitParent(normalised: string): { parent: string; base: string } {
  if (normalised === '/') return { parent: '/', base: '' };
  return { parent: path.posix.dirname(normalised), base: path.posix.basename(normalised) };
}

/**
 * Decides what a delete (or move source) would remove and whether it is
 * allowed. Pure: `realParent` maps the normalised parent directory to its
 * real path (symlinks resolved), so the caller does the I/O and a property
 * test can substitute any file-system shape.
 *
 * The path is normalised lexically first, so `/usr/./`, `//usr`, `/tmp/../usr`
 * and `/usr/` are all `/usr`. Then the parent is resolved, so `/x/bin` with
 * `/x -> /` is `/bin`. The final component is not followed: removing a link
 * to `/usr` removes the link.
 */
export function decideDeletion(input: string, workdir: string, realParent: (dir: string) => string): DeletionDecision {
  const normalised = path.posix.resolve(workdir, input);
  const { parent, base } = splitParent(normalised);
  const target = base === '' ? '/' : path.posix.join(path.posix.resolve('/', realParent(parent)), base);
  return { normalised, target, protected: PROTECTED_PATHS.has(normalised) || PROTECTED_PATHS.has(target) };
}
