// Images made by the tests, as OCI layouts on disk: a busybox root, layers from directories or from tar
// entries, an image config with Env/WorkingDir/User/Entrypoint/Cmd. `ImageStore.import(dir)` takes the layout
// as it is; `pushImage` puts it in a registry with skopeo.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { run } from '../../src/run-command.js';
import { type TarSpec, tarOf } from './tar-writer.js';

export interface TestImageConfig {
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
}

/** A layer: a directory tarred as it is (owners and modes kept), tar entries, or a tar made elsewhere. */
export type TestLayer = { dir: string } | { entries: TarSpec[] } | { tar: Buffer };

export interface WrittenImage {
  manifest: string;
  config: string;
  /** The layers' blob digests (compressed) and diff ids, bottom first. */
  blobs: string[];
  diffIds: string[];
}

const sha = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function layerTar(layer: TestLayer): Promise<Buffer> {
  if ('tar' in layer) return layer.tar;
  if ('entries' in layer) return tarOf(layer.entries);
  // GNU tar with numeric owners, sorted names and fixed times: the same directory gives the same layer.
  const out = await run(['sh', '-c', `tar -C '${layer.dir}' --numeric-owner --sort=name --mtime=@1700000000 -cf - . | base64 -w0`], {
    timeoutMs: 120_000,
  });
  return Buffer.from(out.stdout, 'base64');
}

/**
 * Writes (or adds to) the OCI layout at `dir` an image named `ref` (written as the manifest's ref.name):
 * gzip-compressed layers unless `compression` says otherwise.
 */
export async function writeOciImage(
  dir: string,
  ref: string,
  layers: TestLayer[],
  config: TestImageConfig = {},
  compression: 'gzip' | 'none' = 'gzip',
): Promise<WrittenImage> {
  const blobsDir = path.join(dir, 'blobs', 'sha256');
  await mkdir(blobsDir, { recursive: true });
  const put = async (data: Buffer) => {
    const digest = sha(data);
    await writeFile(path.join(blobsDir, digest.slice(7)), data);
    return digest;
  };
  const diffIds: string[] = [];
  const descriptors: Array<{ mediaType: string; digest: string; size: number }> = [];
  for (const layer of layers) {
    const tar = await layerTar(layer);
    diffIds.push(sha(tar));
    const blob = compression === 'gzip' ? gzipSync(tar) : tar;
    descriptors.push({
      mediaType: compression === 'gzip' ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar',
      digest: await put(blob),
      size: blob.length,
    });
  }
  const configBlob = Buffer.from(
    JSON.stringify({
      created: '2024-01-02T03:04:05Z',
      architecture: 'amd64',
      os: 'linux',
      config,
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const configDigest = await put(configBlob);
  const manifestBlob = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBlob.length },
      layers: descriptors,
    }),
  );
  const manifestDigest = await put(manifestBlob);
  const indexFile = path.join(dir, 'index.json');
  const index = await import('node:fs/promises')
    .then((f) => f.readFile(indexFile, 'utf8'))
    .then((t) => JSON.parse(t) as { manifests: unknown[] })
    .catch(() => ({ schemaVersion: 2, manifests: [] as unknown[] }));
  index.manifests.push({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: manifestDigest,
    size: manifestBlob.length,
    annotations: { 'org.opencontainers.image.ref.name': ref },
  });
  await writeFile(indexFile, JSON.stringify(index));
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return { manifest: manifestDigest, config: configDigest, blobs: descriptors.map((d) => d.digest), diffIds };
}

const APPLETS = ['sh', 'ls', 'cat', 'echo', 'id', 'pwd', 'env', 'test', 'mkdir', 'rm', 'sleep', 'stat', 'whoami', 'true', 'wc', 'head'];

/**
 * A small root file system: Debian's static busybox with its common applets, an /etc with root and `app`
 * (1000:1000), /tmp, /root and /home/app (owned by app).
 */
export async function busyboxRoot(dir: string): Promise<void> {
  for (const d of ['bin', 'etc', 'tmp', 'root', 'home/app', 'proc', 'sys', 'dev']) await mkdir(path.join(dir, d), { recursive: true });
  await copyFile('/usr/bin/busybox', path.join(dir, 'bin/busybox'));
  for (const a of APPLETS) await symlink('busybox', path.join(dir, 'bin', a));
  await writeFile(path.join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n');
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\n');
  await run(['chmod', '1777', path.join(dir, 'tmp')]);
  await run(['chown', '1000:1000', path.join(dir, 'home/app')]);
}

/** Copies an image of a layout into a registry (plain HTTP on loopback). */
export async function pushImage(layoutDir: string, ref: string, target: string): Promise<void> {
  await run(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layoutDir}:${ref}`, `docker://${target}`], {
    timeoutMs: 120_000,
  });
}
