import { Transport } from '../core/transport.js';

/**
 * How the client reaches and authenticates to Cove.
 *
 * @example
 * new Oblien({ clientId: 'cid', clientSecret: 'secret', baseURL: 'http://127.0.0.1:9070', gatewayURL: 'http://127.0.0.1:9080' });
 */
export interface ClientOptions {
  /** Client credentials (`X-Client-ID` / `X-Client-Secret`). */
  clientId?: string;
  clientSecret?: string;
  /** Or a bearer token for the control plane. */
  token?: string;
  /** The control plane (`cove up` prints it; default `COVE_API_URL`). */
  baseURL?: string;
  /** Alias of `baseURL` (the official SDK's spelling). */
  baseUrl?: string;
  /** The gateway runtimes go through (default `COVE_GATEWAY_URL`). */
  gatewayURL?: string;
  gatewayUrl?: string;
  fetch?: typeof fetch;
  /** Default per-request timeout in ms (60 s). */
  timeout?: number;
  maxRetries?: number;
}

function env(name: string): string | undefined {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.[name];
}

/** Resolves the client's options (environment defaults included) and builds its transport. */
export function controlTransport(options: ClientOptions): { transport: Transport; gatewayURL: string | undefined } {
  const baseURL = options.baseURL ?? options.baseUrl ?? env('COVE_API_URL');
  if (!baseURL) throw new TypeError('Oblien needs baseURL (the control plane URL; `cove up` prints it) or COVE_API_URL');
  const clientId = options.clientId ?? env('COVE_CLIENT_ID');
  const clientSecret = options.clientSecret ?? env('COVE_CLIENT_SECRET');
  const token = options.token;
  if (!token && !(clientId && clientSecret)) throw new TypeError('Oblien needs clientId and clientSecret (or token)');
  const headers: Record<string, string> = token
    ? { authorization: `Bearer ${token}` }
    : { 'x-client-id': clientId as string, 'x-client-secret': clientSecret as string };
  const transport = new Transport({
    baseURL,
    auth: () => headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
    ...(options.maxRetries !== undefined ? { maxRetries: options.maxRetries } : {}),
  });
  return { transport, gatewayURL: options.gatewayURL ?? options.gatewayUrl ?? env('COVE_GATEWAY_URL') };
}
