/** Options of the files domain (tests use small limits). */
export interface FilesOptions {
  /** Largest whole-file read, and largest range read, in bytes (413 above). Default 10 MiB. */
  maxReadBytes?: number;
}

export const DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024;

export function withDefaults(options: FilesOptions): Required<FilesOptions> {
  return { maxReadBytes: options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES };
}
