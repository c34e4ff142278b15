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
}

export interface RouteSource {
  getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined>;
}
