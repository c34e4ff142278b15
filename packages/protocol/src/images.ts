// The contract between the control plane and a driver's image store: what an image is as listed, what
// applies from its config to a workspace, and the operations the HTTP API, SDK and CLI offer on images.

/** What of an OCI image config applies to a workspace (camelCase; null where the image sets nothing). */
export interface ImageConfig {
  /** `KEY=value` entries, the image's order. */
  env: string[];
  /** The default working directory of exec and terminals (else `/root`). */
  workingDir: string | null;
  /** The user exec and terminals run as unless a request names one (`name`, `uid`, `uid:gid`, `name:group`). */
  user: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
}

/** How an image came to the store. */
export type ImageSource = 'builtin' | 'pulled' | 'imported' | 'built';

/** An image the store has, as the API lists it. */
export interface ImageSummary {
  /** `sha256:…` of the image config (builtin images: their name). */
  id: string;
  /** Its canonical reference: `docker.io/library/python:3.12-slim`, `127.0.0.1:5000/team/base:1`, `debian:12`. */
  name: string;
  /** Every reference that names it (the canonical one included). */
  references: string[];
  /** The manifest's digest (`sha256:…`), null for builtin images. */
  digest: string | null;
  source: ImageSource;
  /** Its layers' unpacked size in bytes, each layer counted once even when other images share it. */
  size: number;
  layers: number;
  /** The config's `created`, else when the store got it (ISO 8601). */
  created: string;
  config: ImageConfig;
}

/** A step of a pull, import or build, for progress on a terminal or a stream. */
export interface ImageProgress {
  phase: 'resolving' | 'downloading' | 'unpacking' | 'building' | 'done';
  message: string;
  /** The layer (`sha256:…`) the message is about, when it is about one. */
  layer?: string;
  /** Bytes done and expected, when known. */
  current?: number;
  total?: number;
}

export interface PullOptions {
  /** Registry credentials; else those of `~/.docker/config.json` or the containers `auth.json`. */
  username?: string;
  password?: string;
  /** An auth file to read credentials from instead of the usual ones. */
  authFile?: string;
  /** Plain HTTP or unverified TLS. Registries on loopback are allowed it without asking, as Docker does. */
  insecure?: boolean;
  onProgress?: (p: ImageProgress) => void;
  signal?: AbortSignal;
}

export interface ImportOptions {
  /** The name to give the image (`NAME:TAG`); else the archive's own reference. */
  name?: string;
  onProgress?: (p: ImageProgress) => void;
  signal?: AbortSignal;
}

/**
 * A driver's images. References are normalised as Docker does (`python` → `docker.io/library/python:latest`);
 * an unknown one is `not_found`, a malformed one `bad_request`, removing one a workspace uses `conflict`.
 */
export interface ImageCatalog {
  list(): Promise<ImageSummary[]>;
  /** The image a reference names, or undefined when the store does not have it (nothing is pulled). */
  get(reference: string): Promise<ImageSummary | undefined>;
  /** Pulls the image (layers already present are not fetched again); concurrent pulls of one reference share one. */
  pull(reference: string, options?: PullOptions): Promise<ImageSummary>;
  /** Imports a `docker save` archive, an OCI archive or an OCI layout directory at `path` on the host. */
  import(path: string, options?: ImportOptions): Promise<ImageSummary[]>;
  /** Removes the reference; the image's layers go once no image uses them. */
  remove(reference: string, options?: { force?: boolean }): Promise<void>;
}
