import type { IncomingMessage } from 'node:http';

/**
 * Refuses cross-site WebSocket upgrades. Browsers always send `Origin`;
 * other clients usually do not. An upgrade with an `Origin` is accepted
 * only when the origin's host is the request's own `Host` or is listed in
 * `allowed` (full origins such as `https://ide.example.com`, or `*`).
 */
export function originAllowed(request: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*') || allowed.includes(origin)) return true;
  let originHost: string;
  try {
    originHost = new URL(origin).host;
  } catch {
    return false;
  }
  const host = request.headers.host;
  return host !== undefined && originHost.toLowerCase() === host.toLowerCase();
}
