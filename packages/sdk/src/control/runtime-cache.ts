import { jwtExpiry } from '../core/jwt.js';
import { Runtime } from '../runtime/runtime.js';
import type { ApiAccess } from './api-access.js';

/** Refresh a gateway JWT this long before it expires. */
const REFRESH_MARGIN_SECONDS = 120;

interface Entry {
  runtime: Runtime;
  token: string;
  expiresAt: number | undefined;
}

/**
 * Runtimes per workspace, each with a self-refreshing gateway JWT: enabled
 * on first use if needed, refreshed before expiry and once after a 401.
 */
export class RuntimeCache {
  readonly #entries = new Map<string, Entry>();
  readonly #access: ApiAccess;
  readonly #gatewayURL: string | undefined;
  readonly #fetch: typeof fetch | undefined;

  constructor(access: ApiAccess, gatewayURL: string | undefined, fetchImpl: typeof fetch | undefined) {
    this.#access = access;
    this.#gatewayURL = gatewayURL;
    this.#fetch = fetchImpl;
  }

  async get(id: string, force = false): Promise<Runtime> {
    const cached = this.#entries.get(id);
    if (cached && !force && fresh(cached)) return cached.runtime;
    if (!this.#gatewayURL) throw new TypeError('Oblien needs gatewayURL (or COVE_GATEWAY_URL) to reach workspace runtimes');
    const token = await this.#mint(id);
    if (cached) {
      cached.token = token;
      cached.expiresAt = jwtExpiry(token);
      return cached.runtime;
    }
    const entry: Entry = { token, expiresAt: jwtExpiry(token), runtime: undefined as unknown as Runtime };
    entry.runtime = new Runtime({
      baseURL: this.#gatewayURL,
      ...(this.#fetch ? { fetch: this.#fetch } : {}),
      tokens: {
        get: async () => {
          if (!fresh(entry)) await this.#renew(id, entry);
          return entry.token;
        },
        refresh: async () => {
          await this.#renew(id, entry);
          return entry.token;
        },
      },
    });
    this.#entries.set(id, entry);
    return entry.runtime;
  }

  invalidate(id?: string): void {
    if (id === undefined) this.#entries.clear();
    else this.#entries.delete(id);
  }

  async #renew(id: string, entry: Entry): Promise<void> {
    entry.token = await this.#mint(id);
    entry.expiresAt = jwtExpiry(entry.token);
  }

  async #mint(id: string): Promise<string> {
    const status = await this.#access.status(id);
    const answer = status.enabled ? await this.#access.getToken(id) : await this.#access.enable(id);
    if (!answer.token) throw new Error(`no gateway token for workspace ${id}`);
    return answer.token;
  }
}

function fresh(entry: Entry): boolean {
  return entry.expiresAt === undefined || entry.expiresAt - REFRESH_MARGIN_SECONDS > Date.now() / 1000;
}
