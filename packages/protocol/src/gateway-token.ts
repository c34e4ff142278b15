/**
 * The payload of a gateway JWT (HS256, signed by the control plane with the
 * secret it shares with the gateway). The gateway routes by it: the URL
 * carries only the endpoint.
 */
export interface GatewayClaims {
  /** Workspace id (`ws_…`). Also the JWT `sub`. */
  wid: string;
  /** The workspace agent's private address and port at issue time. */
  ip: string;
  port: number;
  /** Token generation: rotating or disabling bumps the workspace's generation, revoking older JWTs. */
  gen: number;
  /** `session`: the standard ~1 h token; `workspace`: the 30-day token. */
  kind: 'session' | 'workspace';
  iat: number;
  exp: number;
}

/** Lifetimes of gateway JWTs, in seconds. The official SDK caches tokens for 55 minutes. */
export const SESSION_TOKEN_TTL_SECONDS = 60 * 60;
export const WORKSPACE_TOKEN_TTL_SECONDS = 30 * 24 * 60 * 60;
