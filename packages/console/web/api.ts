// The control plane's API as the console calls it: same origin, the session cookie (sent by the browser, never
// readable by this code), and the X-Cove-Console header that tells the server the call is the console's own.
import type { NetworkResponse, PublicPort, StatsResponse, Workspace } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Session {
  signed_in: boolean;
  owner?: string;
  client_id?: string;
  gateway_url?: string;
  expires_at?: string;
}

const signedOutListeners = new Set<() => void>();

/** Called when the server says the session is gone (expired, signed out elsewhere, restart). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { 'x-cove-console': '1', accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || data.success === false) {
    const error = new ApiError(res.status, String(data.code ?? 'error'), String(data.error ?? res.statusText));
    if (res.status === 401) for (const listener of signedOutListeners) listener();
    throw error;
  }
  return data as T;
}

export const api = {
  session: () => call<Session>('GET', '/console/api/session'),
  signIn: (clientId: string, clientSecret: string) =>
    call<Session>('POST', '/console/api/session', { client_id: clientId, client_secret: clientSecret }),
  signOut: () => call<Session>('DELETE', '/console/api/session'),

  workspaces: async () => (await call<{ workspaces: Workspace[] }>('GET', '/workspace?limit=100')).workspaces,
  workspace: async (id: string) => (await call<{ workspace: Workspace }>('GET', `/workspace/${enc(id)}`)).workspace,
  images: async () => (await call<{ images: Array<{ image: string; label: string; desc: string }> }>('GET', '/workspace/images')).images,
  create: async (body: Record<string, unknown>) => (await call<{ workspace: Workspace }>('POST', '/workspace', body)).workspace,
  power: (id: string, verb: 'start' | 'stop' | 'pause' | 'resume') =>
    call<{ workspace: Workspace }>('POST', `/workspace/${enc(id)}/${verb}`),
  remove: (id: string) => call<unknown>('DELETE', `/workspace/${enc(id)}`),

  network: (id: string) => call<NetworkResponse>('GET', `/workspace/${enc(id)}/network`),
  updateNetwork: (id: string, body: Record<string, unknown>) => call<NetworkResponse>('PATCH', `/workspace/${enc(id)}/network`, body),
  ports: async (id: string) => (await call<{ ports: PublicPort[] }>('GET', `/workspace/${enc(id)}/public-access`)).ports,
  expose: async (id: string, body: { port: number; auth: 'public' | 'token'; slug?: string }) =>
    (await call<{ port: PublicPort }>('POST', `/workspace/${enc(id)}/public-access`, body)).port,
  revoke: (id: string, port: number) => call<unknown>('DELETE', `/workspace/${enc(id)}/public-access/${port}`),

  stats: (id: string) => call<StatsResponse>('GET', `/workspace/${enc(id)}/stats`),
  /** A gateway token for the workspace (enables its Internal API if it was off; idempotent). */
  gatewayToken: async (id: string) => (await call<{ token: string }>('POST', `/workspace/${enc(id)}/internal-api-access/enable`)).token,
  /** A fresh token of the current generation, after the old one expired. */
  freshToken: async (id: string) => (await call<{ token: string }>('GET', `/workspace/${enc(id)}/internal-api-access/token`)).token,
};

function enc(id: string): string {
  return encodeURIComponent(id);
}
