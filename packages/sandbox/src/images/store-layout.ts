// Where an images directory keeps what: one layout shared by every process that uses it.
//
//   index.json              the images: references → image, its manifest, config and layers (index.ts)
//   oci/                    an OCI layout: blobs/sha256/<hex> (manifests, configs, compressed layers), shared by all
//   layers/<diff id hex>/   each layer unpacked once, in overlay's format: the images' overlay lower directories
//   layer-of/<blob hex>     which layer (diff id and size) a blob unpacks to, so a blob present is not unpacked again
//   uses/<key>.json         the workspaces (of any instance) using an image: its layers stay while one does
//   locks/                  lock files (the index, one per pulled reference, one per builtin build)
//   tmp/<pid>-<random>/     work in progress (a pull's layout, layers being unpacked): renamed into place when done
//   host/, debian-12/       the builtin images (builtin.ts)
import path from 'node:path';

export class StoreLayout {
  constructor(readonly dir: string) {}

  get index(): string {
    return path.join(this.dir, 'index.json');
  }
  get oci(): string {
    return path.join(this.dir, 'oci');
  }
  /** skopeo's `--dest-shared-blob-dir`: it writes `sha256/<hex>` below. */
  get blobsRoot(): string {
    return path.join(this.oci, 'blobs');
  }
  blob(digest: string): string {
    return path.join(this.blobsRoot, 'sha256', hexOf(digest));
  }
  get layers(): string {
    return path.join(this.dir, 'layers');
  }
  layer(diffId: string): string {
    return path.join(this.layers, hexOf(diffId));
  }
  get layerOf(): string {
    return path.join(this.dir, 'layer-of');
  }
  get uses(): string {
    return path.join(this.dir, 'uses');
  }
  get locks(): string {
    return path.join(this.dir, 'locks');
  }
  get tmp(): string {
    return path.join(this.dir, 'tmp');
  }
}

/** The hex of a `sha256:…` digest (or the hex itself). */
export function hexOf(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(7) : digest;
}
