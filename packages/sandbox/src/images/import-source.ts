// What an archive or directory to import holds: its kind (an OCI layout directory, an OCI archive, a
// `docker save` archive) and the images in it, each with the skopeo source that copies it and its names.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AppError } from '@cove/protocol';
import { parseReference } from './reference.js';
import { readTar, TarError } from './tar-reader.js';

export interface ImportImage {
  /** skopeo's source: `oci:DIR:REF`, `oci-archive:FILE:REF`, `docker-archive:FILE:@N`. */
  source: string;
  /** Canonical references the archive gives it (none when it names it only by a tag, or not at all). */
  names: string[];
}

interface OciIndex {
  manifests?: Array<{ digest?: string; annotations?: Record<string, string> }>;
}

interface DockerManifest {
  RepoTags?: string[] | null;
}

function bad(file: string, why: string): AppError {
  return new AppError('bad_request', `cannot import '${file}': ${why}`);
}

/** Names an OCI index entry gives: containerd's full name, else a ref.name that is a full reference. */
function ociNames(annotations: Record<string, string> | undefined): { names: string[]; ref: string | undefined } {
  const ref = annotations?.['org.opencontainers.image.ref.name'];
  const full = annotations?.['io.containerd.image.name'] ?? (ref && /[/:@]/.test(ref) ? ref : undefined);
  const names: string[] = [];
  if (full) {
    try {
      names.push(parseReference(full).canonical);
    } catch {
      // A name that is not a reference is only a tag: the import needs a name.
    }
  }
  return { names, ref };
}

function fromOciIndex(index: OciIndex, transport: string, file: string): ImportImage[] {
  const manifests = index.manifests ?? [];
  if (manifests.length === 0) throw bad(file, 'its index lists no image');
  return manifests.map((m) => {
    const { names, ref } = ociNames(m.annotations);
    if (ref === undefined && manifests.length > 1) throw bad(file, 'it holds several images, not all with a ref.name annotation');
    return { source: ref === undefined ? `${transport}:${file}` : `${transport}:${file}:${ref}`, names };
  });
}

/** Reads the named members of a tar archive (plain or gzip), each up to 4 MiB. */
async function tarMembers(file: string, wanted: string[]): Promise<Map<string, Buffer>> {
  const head = Buffer.alloc(2);
  const fd = await import('node:fs/promises').then((f) => f.open(file, 'r'));
  await fd.read(head, 0, 2, 0);
  await fd.close();
  const source = createReadStream(file, { highWaterMark: 1 << 20 });
  let stream: AsyncIterable<Buffer> = source;
  let done: Promise<void> = Promise.resolve();
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    done = pipeline(source, gunzip);
    stream = gunzip;
  }
  const found = new Map<string, Buffer>();
  await readTar(stream, async (entry, data) => {
    const name = entry.path.replace(/^(\.\/)+/, '').replace(/^\/+/, '');
    if (entry.type !== 'file' || !wanted.includes(name) || entry.size > 4 * 1024 * 1024) return;
    const parts: Buffer[] = [];
    for await (const piece of data()) parts.push(Buffer.from(piece));
    found.set(name, Buffer.concat(parts));
  });
  await done;
  return found;
}

/** The images at `file` (a directory or an archive on the host). */
export async function importImages(file: string): Promise<ImportImage[]> {
  const st = existsSync(file) ? statSync(file) : undefined;
  if (!st) throw new AppError('not_found', `cannot import '${file}': no such file or directory`);
  if (st.isDirectory()) {
    if (!existsSync(path.join(file, 'oci-layout'))) throw bad(file, 'a directory must be an OCI layout (it has no oci-layout file)');
    const index = JSON.parse(readFileSync(path.join(file, 'index.json'), 'utf8')) as OciIndex;
    return fromOciIndex(index, 'oci', file);
  }
  if (!st.isFile()) throw bad(file, 'it is neither a file nor a directory');
  let members: Map<string, Buffer>;
  try {
    members = await tarMembers(file, ['oci-layout', 'index.json', 'manifest.json']);
  } catch (err) {
    if (err instanceof TarError || (err as NodeJS.ErrnoException).code === 'Z_DATA_ERROR')
      throw bad(file, `not a tar archive (${(err as Error).message})`);
    throw err;
  }
  try {
    const index = members.get('index.json');
    if (members.has('oci-layout') && index) return fromOciIndex(JSON.parse(index.toString('utf8')) as OciIndex, 'oci-archive', file);
    const manifest = members.get('manifest.json');
    if (manifest) {
      const images = JSON.parse(manifest.toString('utf8')) as DockerManifest[];
      if (!Array.isArray(images) || images.length === 0) throw bad(file, 'its manifest.json lists no image');
      return images.map((m, i) => ({
        source: images.length === 1 ? `docker-archive:${file}` : `docker-archive:${file}:@${i}`,
        names: (m.RepoTags ?? []).flatMap((t) => {
          try {
            return [parseReference(t).canonical];
          } catch {
            return [];
          }
        }),
      }));
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw bad(file, `its index is not valid JSON (${(err as Error).message})`);
  }
  throw bad(file, 'it is neither a docker save archive (manifest.json) nor an OCI archive (oci-layout, index.json)');
}
