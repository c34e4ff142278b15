import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideDeletion, PROTECTED_PATHS } from '../../src/files/protected-paths.js';

/**
 * A pretend file system of symlinked directories: `links` maps a directory
 * path to its link text. `realParent` resolves a directory the way
 * realpath(3) would, component by component.
 */
function resolver(links: Record<string, string>): (dir: string) => string {
  return (dir) => {
    let resolved = '/';
    const pending = dir.split('/').filter(Boolean);
    let hops = 0;
    while (pending.length > 0) {
      const part = pending.shift() as string;
      const next = path.posix.join(resolved, part);
      const link = links[next];
      if (link !== undefined && hops++ < 40) {
        const target = path.posix.resolve(resolved, link);
        pending.unshift(...target.split('/').filter(Boolean));
        resolved = '/';
      } else resolved = next;
    }
    return resolved;
  };
}
const identity = (dir: string) => dir;
const protectedList = [...PROTECTED_PATHS];

/** Spellings of a path: `.`, `..` detours, repeated and trailing slashes. */
const spelling = (target: string) =>
  fc.array(fc.constantFrom('plain', 'dot', 'detour', 'double', 'trailing'), { minLength: 1, maxLength: 6 }).map((tricks) => {
    let out = target === '/' ? '/' : target;
    for (const trick of tricks) {
      if (trick === 'dot') out = `${out}/.`;
      if (trick === 'detour') out = target === '/' ? `${out}/tmp/..` : `${out}/../${path.posix.basename(target)}`;
      if (trick === 'double') out = out.replace('/', '//');
      if (trick === 'trailing') out = `${out}/`;
    }
    return out;
  });

const segment = fc.stringMatching(/^[a-zA-Z0-9_.-]{1,12}$/).filter((s) => s !== '.' && s !== '..');

describe('decideDeletion (pure)', () => {
  it('refuses each listed path exactly as spelled', () => {
    for (const p of protectedList) expect(decideDeletion(p, '/tmp', identity).protected, p).toBe(true);
  });

  it('refuses any spelling that normalises to a protected path', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...protectedList).chain((p) => spelling(p).map((s) => [p, s] as const)),
        ([p, spelled]) => {
          const d = decideDeletion(spelled, '/srv/work', identity);
          expect(d.normalised).toBe(p);
          expect(d.protected).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses relative spellings that climb from the workdir to a protected path', () => {
    fc.assert(
      fc.property(fc.constantFrom(...protectedList), fc.array(segment, { minLength: 0, maxLength: 5 }), (p, workdirParts) => {
        const workdir = `/${workdirParts.join('/')}`;
        const climb = workdirParts.map(() => '..').join('/');
        const relative = `${climb || '.'}/${p.slice(1)}`;
        expect(decideDeletion(relative, workdir, identity).protected).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a path whose parent is a symlink chain leading to /', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...protectedList.filter((p) => p !== '/')),
        fc.array(segment, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (p, linkParts, relativeLink) => {
          const link = `/${linkParts.join('/')}`;
          const links = { [link]: relativeLink ? linkParts.map(() => '..').join('/') || '/' : '/' };
          const d = decideDeletion(`${link}${p}`, '/tmp', resolver(links));
          expect(d.target).toBe(p);
          expect(d.protected).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('allows any path strictly inside a directory that is not protected, and never follows the final link', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 2, maxLength: 6 }), (parts) => {
        const p = `/${parts.join('/')}`;
        // Even when the path itself is a link to /usr, only the link would be removed.
        const d = decideDeletion(p, '/tmp', resolver({ [p]: '/usr' }));
        expect(d.target).toBe(p);
        expect(d.protected).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('decides on the resolved target: a link to / inside an ordinary directory makes its children system paths', () => {
    const d = decideDeletion('/home/me/root/etc', '/', resolver({ '/home/me/root': '/' }));
    expect(d).toEqual({ normalised: '/home/me/root/etc', target: '/etc', protected: true });
    const ok = decideDeletion('/home/me/root/etc/hosts', '/', resolver({ '/home/me/root': '/' }));
    expect(ok).toEqual({ normalised: '/home/me/root/etc/hosts', target: '/etc/hosts', protected: false });
  });

  it('treats paths one level below / as protected only when listed', () => {
    fc.assert(
      fc.property(segment, (name) => {
        const d = decideDeletion(`/${name}`, '/', identity);
        expect(d.protected).toBe(PROTECTED_PATHS.has(`/${name}`));
      }),
      { numRuns: 500 },
    );
    expect(decideDeletion('/tmp', '/', identity).protected).toBe(false);
    expect(decideDeletion('/usr/lib', '/', identity).protected).toBe(false);
    expect(decideDeletion('/usr/..', '/', identity).protected).toBe(true);
  });
});
