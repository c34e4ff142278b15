// What the gateway routes by, and what the control plane's store provides: here so that neither side
// imports the other for it.

/**
 * What the gateway needs to know about a workspace to route to it. The
 * control plane's store implements `RouteSource`; the gateway caches answers
 * briefly (well under a second) so that rotations and disables are honoured
 * within 1 s on every gateway instance.
 */
export interface WorkspaceRoute {
  workspaceId: string;
  /** The agent's current private address and port. */
  ip: string;
  port: number;
  /** The agent's raw bearer token, sent upstream in place of the caller's JWT. */
  rawToken: string;
  /** Current token generation; JWTs of another generation are refused. */
  generation: number;
  /** Internal API access enabled (agent server running). */
  enabled: boolean;
  /** Network setting `public_access`: the gateway may reach the agent. */
  publicAccess: boolean;
  /** Workspace running. */
  running: boolean;
  /** Workspace paused (not running until resumed): only changes what a refused caller is told. */
  paused?: boolean;
  /**
   * Not running, but a request may wake it: paused (by a user or a policy), or stopped by its idle policy. A
   * workspace a user stopped is never woken. Absent: false.
   */
  wakeable?: boolean;
}

/**
 * A workspace port exposed at a public URL (`http://<slug>.<preview domain>/`): the gateway serves it by
 * host name, through the workspace agent's `/proxy` with `X-Oblien-Proxy-Target: <port>`.
 */
export interface PublicPortRoute {
  workspaceId: string;
  /** The host-name label: lowercase letters, digits and `-`, unique across the store. */
  slug: string;
  /** The port inside the workspace (never the agent's own). */
  port: number;
  /** `public`: anyone with the URL; `token`: only with the port's token (query `token`, header or cookie). */
  auth: 'public' | 'token';
  /** SHA-256 hex of the port's token when `auth` is `token`, else null. */
  tokenSha256: string | null;
  /** Bumped by every change (slug, auth, token) and by revocation: connections opened under another one are cut. */
  generation: number;
}

export interface RouteSource {
  getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined>;
  /** The exposed port with this slug, or undefined (never exposed, or revoked). */
  getPublicPort(slug: string): Promise<PublicPortRoute | undefined>;
  /**
   * Wakes a `wakeable` workspace (resumes or starts it) and resolves once it serves; concurrent calls share one
   * wake. Absent where the source cannot (a routes file, a store without its control plane): such routes stay
   * refused with 503.
   */
  wake?(workspaceId: string): Promise<void>;
}
