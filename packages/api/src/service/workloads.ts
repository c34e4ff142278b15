// Workloads live in the workspace: its agent keeps their definitions on the workspace's disk and supervises
// their processes, so they neither depend on the control plane nor stop with it. The control plane checks the
// caller, turns the agent on, forwards, and acts on what a workload's `vm_on_exit` asks of the workspace.
import type {
  WorkloadCreateBody,
  WorkloadDeleteAllResponse,
  WorkloadDeleteResponse,
  WorkloadInfo,
  WorkloadListResponse,
  WorkloadLogsResponse,
  WorkloadResponse,
  WorkloadStatsResponse,
  WorkloadStatusResponse,
  WorkloadUpdateBody,
  WorkloadVmExitEvent,
} from '@cove/protocol';
import type { Static, TSchema } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { type AgentCall, agentJson, openEventStream, reachAgent, relayStream } from './agent-channel.js';
import type { ControlContext } from './context.js';
import { power } from './workspaces.js';

const enc = encodeURIComponent;

/** Forwards one call to the workspace's agent and answers with its JSON (`workspace_id` added). */
async function forward<T>(ctx: ControlContext, owner: string, id: string, call: AgentCall): Promise<T & { workspace_id: string }> {
  const ws = await reachAgent(ctx, owner, id);
  const body = await agentJson<T>(ctx, ws, call);
  return { ...body, workspace_id: ws.id };
}

type Of<T extends TSchema> = Static<T>;
type One = Of<typeof WorkloadResponse>;

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const text = q.toString();
  return text === '' ? '' : `?${text}`;
}

export const workloads = {
  async create(ctx: ControlContext, exits: WorkloadExitWatch, owner: string, id: string, body: WorkloadCreateBody) {
    const answer = await forward<One>(ctx, owner, id, { method: 'POST', path: '/workloads', body });
    if (body.vm_on_exit) exits.follow(id);
    return answer;
  },
  list: (ctx: ControlContext, owner: string, id: string, q: { states?: string | undefined; name?: string | undefined }) =>
    forward<Of<typeof WorkloadListResponse>>(ctx, owner, id, { method: 'GET', path: `/workloads${query(q)}` }),
  get: (ctx: ControlContext, owner: string, id: string, wid: string) =>
    forward<{ success: true; workload: WorkloadInfo } & WorkloadInfo>(ctx, owner, id, { method: 'GET', path: `/workloads/${enc(wid)}` }),
  async update(
    ctx: ControlContext,
    exits: WorkloadExitWatch,
    owner: string,
    id: string,
    wid: string,
    body: WorkloadUpdateBody,
    method: 'PUT' | 'PATCH',
  ) {
    const answer = await forward<One>(ctx, owner, id, { method, path: `/workloads/${enc(wid)}`, body });
    if (body.vm_on_exit) exits.follow(id);
    return answer;
  },
  remove: (ctx: ControlContext, owner: string, id: string, wid: string) =>
    forward<Of<typeof WorkloadDeleteResponse>>(ctx, owner, id, { method: 'DELETE', path: `/workloads/${enc(wid)}` }),
  removeAll: (ctx: ControlContext, owner: string, id: string) =>
    forward<Of<typeof WorkloadDeleteAllResponse>>(ctx, owner, id, { method: 'DELETE', path: '/workloads' }),
  action: (ctx: ControlContext, owner: string, id: string, wid: string, verb: 'start' | 'stop') =>
    forward<One>(ctx, owner, id, { method: 'POST', path: `/workloads/${enc(wid)}/${verb}` }),
  status: (ctx: ControlContext, owner: string, id: string, wid: string) =>
    forward<Of<typeof WorkloadStatusResponse>>(ctx, owner, id, { method: 'GET', path: `/workloads/${enc(wid)}/status` }),
  logs: (ctx: ControlContext, owner: string, id: string, wid: string, tail: number | undefined) =>
    forward<Of<typeof WorkloadLogsResponse>>(ctx, owner, id, {
      method: 'GET',
      path: `/workloads/${enc(wid)}/logs${query({ tail_lines: tail })}`,
    }),
  stats: (ctx: ControlContext, owner: string, id: string, wid: string) =>
    forward<Of<typeof WorkloadStatsResponse>>(ctx, owner, id, { method: 'GET', path: `/workloads/${enc(wid)}/stats` }),
  async stream(ctx: ControlContext, owner: string, id: string, agentPath: string, reply: FastifyReply) {
    const ws = await reachAgent(ctx, owner, id);
    return relayStream(ctx, ws, { method: 'GET', path: agentPath }, reply);
  },
};

/**
 * Acts on what workloads ask of their workspace when they end (`vm_on_exit`): it follows the agent's
 * `/workloads/events` of each running workspace that has such a workload (known from the calls made here, and
 * asked of every running agent at start), and stops the workspace for `stop`. `pause` and `exit` are recorded
 * (the agent's answer shows them; the control plane logs them) and otherwise left to the caller.
 */
export class WorkloadExitWatch {
  readonly #ctx: ControlContext;
  readonly #followed = new Map<string, AbortController>();
  /** The last request seen per workspace, for `GET …/workloads` readers and tests. */
  readonly seen = new Map<string, WorkloadVmExitEvent>();
  #closed = false;

  constructor(ctx: ControlContext) {
    this.#ctx = ctx;
  }

  /** Follows the running workspaces whose agents hold a workload with a `vm_on_exit` (one request each, at start). */
  async start(): Promise<void> {
    const { items } = await this.#ctx.store.listWorkspaces({ status: 'running' });
    for (const ws of items) {
      if (!ws.accessEnabled || ws.rawToken === null || !this.#ctx.driver.agentRunning(ws.id)) continue;
      try {
        const list = await agentJson<{ workloads?: Array<{ vm_on_exit?: string }> }>(this.#ctx, ws, { method: 'GET', path: '/workloads' });
        if ((list.workloads ?? []).some((w) => w.vm_on_exit)) this.follow(ws.id);
      } catch {
        // An agent that cannot answer now is followed when a workload call next reaches it.
      }
    }
  }

  /** Follows the workspace's requests (idempotent); the follow ends when its agent does. */
  follow(id: string): void {
    if (this.#closed || this.#followed.has(id)) return;
    const abort = new AbortController();
    this.#followed.set(id, abort);
    void this.#run(id, abort.signal).finally(() => {
      if (this.#followed.get(id) === abort) this.#followed.delete(id);
    });
  }

  close(): void {
    this.#closed = true;
    for (const abort of this.#followed.values()) abort.abort();
    this.#followed.clear();
  }

  async #run(id: string, signal: AbortSignal): Promise<void> {
    const ws = await this.#ctx.store.getWorkspace(id);
    if (!ws || ws.rawToken === null) return;
    await openEventStream(this.#ctx, ws, '/workloads/events', signal, async (event: WorkloadVmExitEvent) => {
      if (event.type !== 'vm_on_exit') return;
      this.seen.set(id, event);
      this.#ctx.log.info({ workspace: id, workload: event.workload_id, action: event.action }, 'a workload ended: vm_on_exit');
      if (event.action !== 'stop') return;
      const current = await this.#ctx.store.getWorkspace(id);
      if (current?.status === 'running')
        await power(this.#ctx, current.owner, id, 'stop').catch((err: Error) => {
          this.#ctx.log.warn({ workspace: id, err: err.message }, 'could not stop the workspace for vm_on_exit');
        });
    }).catch(() => {});
  }
}
