// The check an archive passes before GNU tar unpacks it into a workspace's directory. An archive may come from
// anyone (an upload from another Cove), and the process driver unpacks it on the host as the control plane's
// user: nothing in it may land outside the directory. Every header is read (@cove/archive's reader) and the
// archive is refused whole, before anything is written, when an entry's name or a hard link's target leaves the
// directory (`..`), goes through a symlink the archive made, when a hard link names nothing before it, for
// device nodes, unknown entry types, or content larger than the workspace's disk. GNU sparse files (what
// `writeArchive` makes of a file with holes) pass when their map is sound (the reader checks it: segments in
// order, inside the file, adding up to the data stored); they count at their real size, holes included: the
// limit bounds the files as the workspace sees them, whatever a later copy does with the holes.
import { shown, TarError, walkTarFile } from '@cove/archive';

/** What the check refuses an archive with (the reader's own error: one class for both). */
export { TarError as ArchiveRefused };

/** A name as components below the directory (`/` and `./` prefixes dropped, as tar does); `..` refused. */
function components(raw: string, what: string): string[] {
  if (raw.includes('\0')) throw new TarError(`${what} holds a NUL byte`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new TarError(`${what} '${shown(raw)}' leaves the directory ('..')`);
  return parts;
}

/**
 * Reads every header of `file`; resolves once the archive is known safe to unpack below a directory, else
 * rejects with `ArchiveRefused` naming the entry. `maxBytes`: the largest total of file contents accepted.
 */
export async function checkArchive(file: string, maxBytes: number): Promise<void> {
  /** Paths the archive makes symlinks (joined components): nothing may be written through them. */
  const symlinks = new Set<string>();
  /** Paths of entries other than symlinks and directories: what a hard link may name. */
  const linkable = new Set<string>();
  let total = 0;
  let entries = 0;
  const through = (parts: string[]): string | undefined => {
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (symlinks.has(prefix)) return prefix;
    }
    return undefined;
  };
  await walkTarFile(
    file,
    (entry) => {
      entries++;
      const entryPath = entry.path;
      if (entry.type === 'char' || entry.type === 'block') {
        throw new TarError(`entry '${shown(entryPath)}' is a device node; a workspace's files hold none`);
      }
      if (entry.sparseName !== undefined) components(entry.sparseName, 'an entry name');
      const parts = components(entryPath, 'entry');
      const key = parts.join('/');
      const via = through(parts);
      if (via !== undefined) throw new TarError(`entry '${shown(entryPath)}' goes through the symlink '${shown(via)}'`);
      if (entry.type === 'link') {
        const target = components(entry.linkPath, `the hard link '${shown(entryPath)}' to`);
        if (through(target) !== undefined || !linkable.has(target.join('/'))) {
          throw new TarError(
            `the hard link '${shown(entryPath)}' names '${shown(entry.linkPath)}', which is not a file earlier in the archive`,
          );
        }
      }
      if (key === '' && entry.type !== 'dir') throw new TarError(`entry '${shown(entryPath)}' would replace the directory itself`);
      if (entry.type === 'symlink') {
        symlinks.add(key);
        linkable.delete(key);
      } else {
        // An entry replaces what had its name (tar removes it first): a symlink there is gone.
        symlinks.delete(key);
        if (entry.type === 'dir') linkable.delete(key);
        else linkable.add(key);
      }
      if (entry.type === 'file') {
        // A sparse file's real size (`size`), not the data its archive stores.
        total += entry.size;
        // Refused at the header that says so, before its data is read.
        if (total > maxBytes) {
          throw new TarError(`its files (more than ${Math.floor(maxBytes / 1024 / 1024)} MiB) do not fit the workspace's disk`);
        }
      }
    },
    { what: 'archive', refuseGlobalPaths: true },
  );
  if (entries === 0) throw new TarError('the archive holds no entry');
}
