import { afterAll, beforeAll, describe } from 'vitest';
import { type DriverVariant, driverVariants } from '../../../packages/api/test/helpers/driver-stack.js';

/**
 * One describe per driver (the sandbox one skipped with its reason where it cannot run, and failing in CI),
 * around what `open` gives, opened before its tests and closed after them. `tests` reads it through
 * `current()` when a test runs; the hooks it registers run after the opening and before the closing
 * (vitest's default `sequence.hooks: 'stack'` runs after-hooks in reverse order).
 */
export function describeEachDriver<T>(
  title: (variant: DriverVariant) => string,
  open: (variant: DriverVariant) => Promise<T>,
  close: (opened: T) => Promise<void>,
  tests: (current: () => T, variant: DriverVariant) => void,
): void {
  for (const variant of driverVariants()) {
    describe.skipIf(variant.skip)(title(variant), () => {
      let opened: T | undefined;
      beforeAll(async () => {
        opened = await open(variant);
      }, 120_000);
      afterAll(async () => {
        if (opened !== undefined) await close(opened);
      }, 120_000);
      tests(() => {
        if (opened === undefined) throw new Error(`the ${variant.title} set-up is not open (its beforeAll failed)`);
        return opened;
      }, variant);
    });
  }
}
