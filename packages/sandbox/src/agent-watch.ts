// The driver's `watch`: agents that die unasked (killed, crashed, OOM-killed with their container) reported once
// each, by checking every known agent's process once a second (one kill(pid, 0) each). A stop or delete also
// ends an agent; the control plane tells those apart under the workspace's lock (its status says stopped).
import type { WorkspaceDriverEvent } from '@cove/protocol';

export class AgentWatch {
  readonly #ids: () => Iterable<string>;
  readonly #running: (id: string) => boolean;
  readonly #intervalMs: number;
  readonly #listeners = new Set<(event: WorkspaceDriverEvent) => void>();
  /** Workspaces whose agent was seen running at the last check. */
  readonly #alive = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ids: () => Iterable<string>, running: (id: string) => boolean, intervalMs = 1000) {
    this.#ids = ids;
    this.#running = running;
    this.#intervalMs = intervalMs;
  }

  watch(listener: (event: WorkspaceDriverEvent) => void): () => void {
    this.#listeners.add(listener);
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#check(), this.#intervalMs);
      this.#timer.unref();
    }
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.close();
    };
  }

  /** An agent just started: watched from now on, even if it dies before the next check sees it running. */
  started(id: string): void {
    this.#alive.add(id);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const seen = new Set<string>();
    for (const id of this.#ids()) {
      seen.add(id);
      if (this.#running(id)) {
        this.#alive.add(id);
      } else if (this.#alive.delete(id)) {
        for (const listener of this.#listeners) listener({ type: 'agent-exited', workspaceId: id, code: null, signal: null });
      }
    }
    for (const id of this.#alive) if (!seen.has(id)) this.#alive.delete(id);
  }
}
