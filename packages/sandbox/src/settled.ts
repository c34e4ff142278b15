/**
 * Waits for every step to end, then fails with the first failure: steps run at once, and what follows a failure
 * (a removal of what was made) must not race a step still running.
 */
export async function settled(steps: ReadonlyArray<Promise<unknown> | undefined>): Promise<void> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
