// The host-dependent defaults: what `cove up` keeps ready when nothing says otherwise.
import { describe, expect, it } from 'vitest';
import { autoWarmPool, SERVER_DEFAULTS } from '../src/defaults.js';

const GiB = 2 ** 30;

describe('the default warm pool', () => {
  it('is auto: one ready workspace per 3 GiB of memory, at least 1 and at most 8', () => {
    expect(SERVER_DEFAULTS.warmPool).toBe('auto');
    expect([1, 2, 3, 5.9, 6, 8, 24, 64, 512].map((g) => autoWarmPool(g * GiB))).toEqual([1, 1, 1, 1, 2, 2, 8, 8, 8]);
  });
});
