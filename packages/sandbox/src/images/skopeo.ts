// skopeo (Debian's package) moves images between registries, archives and the store's OCI layout: it speaks
// the registry protocols (token auth, mirrors of manifest lists, retries) and reads the usual credentials
// (~/.docker/config.json, the containers auth.json). Its lines become progress as they come.
import { spawn } from 'node:child_process';
import type { ImageProgress } from '@cove/protocol';

export interface SkopeoRun {
  args: string[];
  /** Called with each `Copying blob sha256:…` (the blob starts). */
  onBlob?: (digest: string) => void;
  onProgress?: (p: ImageProgress) => void;
  signal?: AbortSignal;
}

export class SkopeoError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
  }
}

/** Runs `skopeo <args>`; rejects with its own last words on failure. */
export function skopeo(run: SkopeoRun): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('skopeo', run.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Only what it needs: HOME (its credential files) and the system paths; none of the server's secrets.
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: process.env.HOME ?? '/root',
        ...(process.env.XDG_RUNTIME_DIR ? { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR } : {}),
        ...(process.env.REGISTRY_AUTH_FILE ? { REGISTRY_AUTH_FILE: process.env.REGISTRY_AUTH_FILE } : {}),
        ...(process.env.DOCKER_CONFIG ? { DOCKER_CONFIG: process.env.DOCKER_CONFIG } : {}),
        LANG: 'C.UTF-8',
      },
      ...(run.signal ? { signal: run.signal } : {}),
    });
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      pending += d;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        const blob = /^Copying blob (sha256:[a-f0-9]{64})/.exec(line)?.[1];
        if (blob) {
          run.onBlob?.(blob);
          run.onProgress?.({ phase: 'downloading', message: `copying layer ${blob.slice(7, 19)}`, layer: blob });
        } else if (line.startsWith('Copying config')) run.onProgress?.({ phase: 'downloading', message: 'copying the image config' });
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8192);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const last = stderr.trim().split('\n').pop() ?? '';
      // skopeo's errors are one logfmt line: the `msg` is what a person needs.
      const msg = /msg="((?:[^"\\]|\\.)*)"/.exec(last)?.[1]?.replace(/\\"/g, '"') ?? last;
      reject(new SkopeoError(signal ? `skopeo was stopped (${signal})` : msg || `skopeo failed (${code})`, stderr));
    });
  });
}
