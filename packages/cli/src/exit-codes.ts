/**
 * Exit codes scripts can rely on. `exec` and `shell` exit with the remote
 * command's code instead, and with 255 when cove itself fails (as ssh does),
 * so a remote `exit 1` is never mistaken for a cove error.
 */
export const EXIT = {
  ok: 0,
  /** The server refused or failed the request, or a local file operation failed. */
  error: 1,
  /** Bad arguments, or no URL/credentials configured. */
  usage: 2,
  /** The control plane or gateway could not be reached or did not answer in time. */
  unreachable: 3,
  /** `exec`/`shell`: cove failed before or while running the remote command. */
  remoteFailure: 255,
  /** `exec`/`shell`: interrupted locally (128 + SIGINT). */
  interrupted: 130,
} as const;
