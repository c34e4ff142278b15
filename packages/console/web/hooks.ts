import { useEffect, useRef, useState } from 'preact/hooks';

/** The part of the address after `#`, as path segments (`#/w/ws_1/files` → ['w', 'ws_1', 'files']). */
export function useHashRoute(): string[] {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const update = () => setHash(location.hash);
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
}

/** Runs `fn` now and every `ms` while `active`, and stops on unmount. */
export function useInterval(fn: () => void, ms: number, active = true): void {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    if (!active) return;
    latest.current();
    const timer = setInterval(() => latest.current(), ms);
    return () => clearInterval(timer);
  }, [ms, active]);
}

/** An error's message for the page. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
