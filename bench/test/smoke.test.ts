// A tiny run of every benchmark suite, so none of them rots. No timing is asserted.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain JavaScript module without types
import { loadSuites, runSuite } from '../run.mjs';

interface Suite {
  name: string;
}

const suites: Suite[] = await loadSuites();

describe('benchmark suites (smoke)', () => {
  it('has suites', () => {
    expect(suites.length).toBeGreaterThan(0);
  });
  for (const suite of suites) {
    it(`${suite.name} runs`, { timeout: 120_000 }, async () => {
      const result = await runSuite(suite, { smoke: true });
      expect(Object.keys(result.figures).length).toBeGreaterThan(0);
    });
  }
});
