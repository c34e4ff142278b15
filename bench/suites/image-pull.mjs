// Pull + unpack of a multi-layer image from a registry on loopback (Debian's docker-registry): Cove's image
// store (`ImageStore.pull`: skopeo into the shared blob store, each layer unpacked as soon as its blob lands)
// against the usual pair of tools, `skopeo copy` to an OCI layout then `umoci unpack`, on the same image in
// the same run. Each run starts from an empty store (nothing already present).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import { percentile, ratio, timeMs } from '../lib/stats.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The image's layers: a static busybox root, then three trees of the host (many small files, some large). */
const LAYERS = ['usr/share/perl', 'usr/lib/python3', 'usr/include'];

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function sha256File(file, gunzip = false) {
  const hash = createHash('sha256');
  const source = createReadStream(file);
  const stream = gunzip ? source.pipe(createGunzip()) : source;
  for await (const chunk of stream) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/** An OCI layout at `dir` with the image `bench` (gzip layers made by tar, as image builders make them). */
async function makeImage(dir, work) {
  const blobs = path.join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const base = path.join(work, 'base');
  await mkdir(path.join(base, 'bin'), { recursive: true });
  sh('cp', ['/usr/bin/busybox', path.join(base, 'bin/busybox')]);
  const sources = [['-C', base, '.'], ...LAYERS.map((l) => ['-C', '/', l])];
  const layers = [];
  const diffIds = [];
  for (const [i, src] of sources.entries()) {
    const gz = path.join(work, `layer${i}.tar.gz`);
    sh('sh', ['-c', `tar --numeric-owner -cf - ${src.map((a) => `'${a}'`).join(' ')} | gzip -6 > '${gz}'`]);
    const digest = await sha256File(gz);
    diffIds.push(await sha256File(gz, true));
    sh('mv', [gz, path.join(blobs, digest.slice(7))]);
    layers.push({
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      digest,
      size: (await stat(path.join(blobs, digest.slice(7)))).size,
    });
  }
  const put = async (obj) => {
    const text = JSON.stringify(obj);
    const digest = `sha256:${createHash('sha256').update(text).digest('hex')}`;
    await writeFile(path.join(blobs, digest.slice(7)), text);
    return { digest, size: Buffer.byteLength(text) };
  };
  const config = await put({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
  });
  const manifest = await put({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers,
  });
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'bench' },
        },
      ],
    }),
  );
  return { compressed: layers.reduce((a, l) => a + l.size, 0) };
}

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

async function startRegistry(dir) {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const config = path.join(dir, 'registry.yml');
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (
      await fetch(`http://127.0.0.1:${port}/v2/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { host: `127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill();
  throw new Error('docker-registry did not start');
}

const summary = (xs) => ({ p50_ms: +percentile(xs, 50).toFixed(0), min_ms: +Math.min(...xs).toFixed(0), runs: xs.length });

export default {
  name: 'image-pull',
  description:
    'pull + unpack of a 4-layer image (~200 MB unpacked, ~14k files) from a loopback registry: Cove’s image store vs `skopeo copy` + `umoci unpack`',
  requires: { skopeo: 'skopeo', umoci: 'umoci', 'docker-registry': 'docker-registry', busybox: 'busybox-static' },
  async run({ smoke, tmp, log }) {
    if (process.getuid?.() !== 0) return { figures: { skipped: 'needs root' }, ratios: {}, notes: 'skipped: needs root' };
    const dist = path.join(root, 'packages/sandbox/dist/index.js');
    if (!existsSync(dist)) return { figures: { skipped: 'not built' }, ratios: {}, notes: 'skipped: npx tsc -b packages/cli' };
    const { ImageStore } = await import(pathToFileURL(dist).href);
    const pino = (await import(pathToFileURL(path.join(root, 'node_modules/pino/pino.js')).href)).default;
    // On the disk (not a tmpfs): what an images directory is on.
    const work = path.join('/var/tmp', path.basename(tmp));
    await mkdir(work, { recursive: true });
    let registry;
    try {
      registry = await startRegistry(path.join(work, 'registry'));
      const layout = path.join(work, 'layout');
      log('making the image');
      const { compressed } = await makeImage(layout, work);
      const ref = `${registry.host}/bench/image:1`;
      sh('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:bench`, `docker://${ref}`]);
      const runs = smoke ? 1 : 7;
      const cove = [];
      const peer = [];
      const peerCopy = [];
      for (let i = 0; i < runs; i++) {
        // Alternating which goes first, so neither always gets the warmer page cache.
        const order = i % 2 === 0 ? ['cove', 'peer'] : ['peer', 'cove'];
        for (const which of order) {
          const dir = path.join(work, `${which}-${i}`);
          sh('sync', []);
          if (which === 'cove') {
            const store = new ImageStore({ dir, log: pino({ level: 'silent' }) });
            cove.push(await timeMs(() => store.pull(ref)));
          } else {
            let copied = 0;
            await mkdir(dir, { recursive: true });
            peer.push(
              await timeMs(async () => {
                const t0 = performance.now();
                sh('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}/layout:image`]);
                copied = performance.now() - t0;
                sh('umoci', ['unpack', '--image', `${dir}/layout:image`, `${dir}/bundle`]);
              }),
            );
            peerCopy.push(copied);
          }
          await rm(dir, { recursive: true, force: true });
        }
        log(
          `run ${i + 1}/${runs}: cove ${cove.at(-1).toFixed(0)} ms, skopeo+umoci ${peer.at(-1).toFixed(0)} ms (skopeo ${peerCopy.at(-1).toFixed(0)} ms)`,
        );
      }
      const p50 = (xs) => percentile(xs, 50);
      return {
        figures: {
          image: { layers: LAYERS.length + 1, compressed_bytes: compressed },
          cove_pull: summary(cove),
          skopeo_copy_plus_umoci_unpack: summary(peer),
          of_which_skopeo_copy: summary(peerCopy),
        },
        ratios: { pull_unpack_vs_skopeo_umoci: ratio(p50(cove) / p50(peer), 1.2, 'at_most') },
        notes:
          'Each run from an empty store. Cove: one `skopeo copy` into the shared blob store, each layer unpacked (own whiteout-aware unpacker) ' +
          'as soon as its blob lands, diff ids checked. Peer: `skopeo copy` to an OCI layout, then `umoci unpack` (one rootfs).',
      };
    } finally {
      registry?.child.kill();
      await rm(work, { recursive: true, force: true });
    }
  },
};
