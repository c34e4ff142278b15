/** One inotify instance (`inotify_init1(IN_NONBLOCK | IN_CLOEXEC)`), polled on the event loop. */
export declare class Inotify {
  /**
   * @param onData called with the raw `struct inotify_event` records read in
   * one wake-up (whole records, native byte order).
   */
  constructor(onData: (events: Buffer) => void);
  /** `inotify_add_watch`; returns the watch descriptor. Throws an Error with `code` (ENOSPC, ENOENT, ...). */
  addWatch(path: string, mask: number): number;
  /** `inotify_rm_watch`; false when the watch was already gone. */
  rmWatch(wd: number): boolean;
  /** Closes the descriptor; later calls are no-ops. */
  close(): void;
}
