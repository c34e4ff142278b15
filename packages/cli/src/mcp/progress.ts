import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';

/** Reports closer together than this are dropped (the last one of a burst is not worth a message per chunk). */
const MIN_INTERVAL_MS = 250;

/**
 * The progress reporter of one call: `notifications/progress` for the client's progressToken, at most one per
 * MIN_INTERVAL_MS and only when the figure grew (the protocol wants it to increase). Without a token, nothing:
 * the client did not ask. A notification that cannot be sent is not the call's failure.
 */
export function progressReporter(
  token: string | number | undefined,
  send: (notification: ServerNotification) => Promise<void>,
): (progress: number, message?: string, total?: number) => void {
  if (token === undefined) return () => {};
  let last = Number.NEGATIVE_INFINITY;
  let lastAt = 0;
  return (progress, message, total) => {
    const now = Date.now();
    if (progress <= last || now - lastAt < MIN_INTERVAL_MS) return;
    last = progress;
    lastAt = now;
    send({
      method: 'notifications/progress',
      params: {
        progressToken: token,
        progress,
        ...(total !== undefined ? { total } : {}),
        ...(message !== undefined ? { message } : {}),
      },
    }).catch(() => {});
  };
}
