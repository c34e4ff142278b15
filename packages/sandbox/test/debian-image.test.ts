import { describe, expect, it } from 'vitest';
import { execIn, skipReason, spec, useTestDriver } from './helpers.js';

const SLOT = 7;
// The first build downloads Debian (debootstrap, ~3 min); the image is cached per machine afterwards.
// COVE_SANDBOX_DEBIAN=0 skips it (machines without access to Debian's mirror).
const skip = skipReason() ?? (process.env.COVE_SANDBOX_DEBIAN === '0' ? 'COVE_SANDBOX_DEBIAN=0' : undefined);

describe.skipIf(skip)(`sandbox debian:12 image${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const t = useTestDriver(SLOT);

  it('runs the agent on a debootstrapped Debian bookworm', async () => {
    const s = spec({ image: 'debian:12' });
    await t.driver.create(s);
    await t.driver.start(s);
    await t.driver.startAgent(s.id, 'x'.repeat(64));
    const res = await execIn(t.driver, s.id, '. /etc/os-release; echo $VERSION_CODENAME; command -v apt-get; cat /etc/hostname; pwd');
    expect(res).toEqual({ code: 0, stdout: 'bookworm\n/usr/bin/apt-get\nworkspace\n/root\n', stderr: '' });
    await t.driver.destroy(s.id);
  }, 900_000);
});
