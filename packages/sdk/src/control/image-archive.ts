// A file or directory on this machine as an image archive request body (Node only, loaded on demand):
// a file is sent as it is; a directory (an OCI layout) as a tar of its contents, made as it is sent.
import type { Dirent } from 'node:fs';

type Fs = typeof import('node:fs');
type FsPromises = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type Stream = typeof import('node:stream');

// Variables, not literals: bundlers for the browser leave the import alone (a path is a Node-only source).
const FS = 'node:fs';
const FS_PROMISES = 'node:fs/promises';
const PATH = 'node:path';
const STREAM = 'node:stream';

async function nodeModules(): Promise<{ fs: Fs; fsp: FsPromises; path: Path; stream: Stream }> {
  try {
    const [fs, fsp, path, stream] = await Promise.all([import(FS), import(FS_PROMISES), import(PATH), import(STREAM)]);
    return { fs: fs as Fs, fsp: fsp as FsPromises, path: path as Path, stream: stream as Stream };
  } catch {
    throw new TypeError('importing from a path needs Node; in a browser pass the archive as a Blob or a stream');
  }
}

/** The archive at `source` (a file, or a directory sent as a tar) as a stream, and its size when known. */
export async function archiveBody(source: string): Promise<{ body: ReadableStream<Uint8Array>; size?: number }> {
  const { fs, fsp, path, stream } = await nodeModules();
  const info = await fsp.stat(source);
  if (info.isFile()) {
    return { body: stream.Readable.toWeb(fs.createReadStream(source)) as ReadableStream<Uint8Array>, size: info.size };
  }
  if (!info.isDirectory()) throw new TypeError(`${source} is neither a file nor a directory`);
  const files = await walk(fsp, path, source, '');
  return { body: tarStream(fs, path, source, files) };
}

interface Entry {
  name: string;
  kind: 'file' | 'dir';
  size: number;
  mode: number;
  mtime: number;
}

async function walk(fsp: FsPromises, path: Path, root: string, rel: string): Promise<Entry[]> {
  const out: Entry[] = [];
  const dirents: Dirent[] = await fsp.readdir(path.join(root, rel), { withFileTypes: true });
  dirents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of dirents) {
    const name = rel ? `${rel}/${d.name}` : d.name;
    const st = await fsp.stat(path.join(root, name));
    if (st.isDirectory()) {
      out.push({ name: `${name}/`, kind: 'dir', size: 0, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) });
      out.push(...(await walk(fsp, path, root, name)));
    } else if (st.isFile()) {
      out.push({ name, kind: 'file', size: st.size, mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000) });
    }
  }
  return out;
}

const encoder = new TextEncoder();

/** A ustar header; names longer than 100 bytes get a pax header first. */
function header(entry: Entry): Uint8Array {
  const name = encoder.encode(entry.name);
  const parts: Uint8Array[] = [];
  if (name.length > 100) {
    const record = (n: string) => {
      const body = ` path=${n}\n`;
      let len = encoder.encode(body).length;
      len += String(len + String(len).length).length;
      return `${len}${body}`;
    };
    const pax = encoder.encode(record(entry.name));
    parts.push(block('PaxHeader', 0o644, pax.length, entry.mtime, 'x'), pad(pax));
  }
  parts.push(block(entry.name, entry.mode, entry.size, entry.mtime, entry.kind === 'dir' ? '5' : '0'));
  return concat(parts);
}

function block(name: string, mode: number, size: number, mtime: number, type: string): Uint8Array {
  const b = new Uint8Array(512);
  const put = (offset: number, length: number, text: string) => b.set(encoder.encode(text).subarray(0, length), offset);
  const num = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  put(0, 100, name);
  num(100, 8, mode);
  num(108, 8, 0);
  num(116, 8, 0);
  num(124, 12, size);
  num(136, 12, mtime);
  put(148, 8, '        ');
  put(156, 1, type);
  put(257, 6, 'ustar\0');
  put(263, 2, '00');
  let sum = 0;
  for (const byte of b) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return b;
}

const pad = (data: Uint8Array) => {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
};

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** The tar of `files` under `root`, read file by file as the consumer pulls. */
function tarStream(fs: Fs, path: Path, root: string, files: Entry[]): ReadableStream<Uint8Array> {
  let index = 0;
  let reader: AsyncIterator<Uint8Array> | undefined;
  let remaining = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (reader) {
          const next = await reader.next();
          if (!next.done) {
            const chunk = next.value.length > remaining ? next.value.subarray(0, remaining) : next.value;
            remaining -= chunk.length;
            controller.enqueue(chunk);
            return;
          }
          reader = undefined;
          // A file that shrank while it was read is padded to the size its header announced.
          const entry = files[index - 1] as Entry;
          const tail = remaining + ((512 - (entry.size % 512)) % 512);
          remaining = 0;
          if (tail > 0) {
            controller.enqueue(new Uint8Array(tail));
            return;
          }
        }
        const entry = files[index++];
        if (!entry) {
          controller.enqueue(new Uint8Array(1024));
          controller.close();
          return;
        }
        controller.enqueue(header(entry));
        if (entry.kind === 'file' && entry.size > 0) {
          remaining = entry.size;
          reader = (fs.createReadStream(path.join(root, entry.name)) as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
        }
        return;
      }
    },
    async cancel() {
      await reader?.return?.();
    },
  });
}
