/**
 * Runs `stop` on the first SIGTERM or SIGINT and resolves once it has finished (failed or not). Servers
 * call it before they print their ready line: a supervisor that signals as soon as it reads that line
 * must find the handler already installed, or the signal's default action kills the process mid-way.
 */
export function untilStopped(stop: () => Promise<unknown>): Promise<void> {
  return new Promise((resolve) => {
    const handler = () => {
      process.off('SIGTERM', handler);
      process.off('SIGINT', handler);
      stop().then(
        () => resolve(),
        () => resolve(),
      );
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}
