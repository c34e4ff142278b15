// The control plane's API as the console calls it: same origin, the session cookie (sent by the browser, never
// readable by this code), and the X-Cove-Console header that tells the server the call is the console's own.
import type {
  Lifecycle,
  NetworkResponse,
  PublicPort,
  Snapshot,
  StatsResponse,
  WorkloadInfo,
  WorkloadLogEntry,
  Workspace,
} from './types.js';

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

/** The headers of every call: the console's own (the server's CSRF check) and what it wants back. */
function consoleHeaders(accept: string): Record<string, string> {
  return { 'x-cove-console': '1', accept };
}

/** An answer that is not a success, as the error it carries (a 401 also tells the app the session is gone). */
async function failure(res: Response, data?: Record<string, unknown>): Promise<ApiError> {
  const body = data ?? ((await res.json().catch(() => ({}))) as Record<string, unknown>);
  const error = new ApiError(res.status, String(body.code ?? 'error'), String(body.error ?? res.statusText));
  if (res.status === 401) for (const listener of signedOutListeners) listener();
  return error;
}

/**
 * A server-sent event stream (the logs' SSE routes) opened with fetch rather than EventSource: fetch sends the
 * console's header, and the caller's signal ends it. Resolves once the server has answered; then yields each
 * event's name and parsed data.
 */
export async function openEvents(path: string, signal: AbortSignal): Promise<AsyncGenerator<{ event: string; data: unknown }>> {
  const res = await fetch(path, { headers: consoleHeaders('text/event-stream'), credentials: 'same-origin', signal });
  if (!res.ok || !res.body) throw await failure(res);
  return frames(res.body);
}

async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<{ event: string; data: unknown }> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of frame.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        // Comments (keep-alives) carry no data.
        if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) as unknown };
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers = consoleHeaders('application/json');
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok || data.success === false) throw await failure(res, data);
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

  lifecycle: (id: string) => call<Lifecycle>('GET', `/workspace/${enc(id)}/lifecycle`),
  setTtl: (id: string, body: { ttl?: string; ttl_action?: string }) => call<Lifecycle>('PUT', `/workspace/${enc(id)}/lifecycle/ttl`, body),
  makePermanent: (id: string) => call<Lifecycle>('POST', `/workspace/${enc(id)}/lifecycle/permanent`, {}),
  setIdle: (id: string, body: { suspend_after: string | number; stop_after?: string | number }) =>
    call<Lifecycle>('PUT', `/workspace/${enc(id)}/lifecycle/idle`, body),
  ping: (id: string) => call<{ expires_at?: string }>('POST', `/workspace/${enc(id)}/ping`, {}),

  snapshot: async (id: string) => (await call<{ snapshot: Snapshot | null }>('GET', `/workspace/${enc(id)}/snapshot`)).snapshot,
  takeSnapshot: async (id: string) => (await call<{ snapshot: Snapshot }>('POST', `/workspace/${enc(id)}/snapshot`, {})).snapshot,
  restore: async (id: string) => (await call<{ snapshot: Snapshot }>('POST', `/workspace/${enc(id)}/restore`)).snapshot,
  fork: async (id: string, body: { name?: string; count?: number }) =>
    (await call<{ workspaces: Workspace[] }>('POST', `/workspace/${enc(id)}/fork`, body)).workspaces,

  workloads: async (id: string) => (await call<{ workloads: WorkloadInfo[] }>('GET', `/workspace/${enc(id)}/workloads`)).workloads,
  createWorkload: async (id: string, body: { name?: string; command: string; restart_policy?: string }) =>
    (await call<{ workload: WorkloadInfo }>('POST', `/workspace/${enc(id)}/workloads`, body)).workload,
  workloadPower: async (id: string, wid: string, verb: 'start' | 'stop') =>
    (await call<{ workload: WorkloadInfo }>('POST', `/workspace/${enc(id)}/workloads/${enc(wid)}/${verb}`)).workload,
  removeWorkload: (id: string, wid: string) => call<unknown>('DELETE', `/workspace/${enc(id)}/workloads/${enc(wid)}`),
  workloadLogs: async (id: string, wid: string) =>
    (await call<{ logs: WorkloadLogEntry[] }>('GET', `/workspace/${enc(id)}/workloads/${enc(wid)}/logs?tail_lines=200`)).logs,

  stats: (id: string) => call<StatsResponse>('GET', `/workspace/${enc(id)}/stats`),
  /** A gateway token for the workspace (enables its Internal API if it was off; idempotent). */
  gatewayToken: async (id: string) => (await call<{ token: string }>('POST', `/workspace/${enc(id)}/internal-api-access/enable`)).token,
  /** A fresh token of the current generation, after the old one expired. */
  freshToken: async (id: string) => (await call<{ token: string }>('GET', `/workspace/${enc(id)}/internal-api-access/token`)).token,
};

function enc(id: string): string {
  return encodeURIComponent(id);
}
