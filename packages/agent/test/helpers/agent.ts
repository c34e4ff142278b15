import { randomBytes } from 'node:crypto';
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Agent, createAgent, createLogger, type Domain } from '@cove/agent';
import { ProcessDefaults } from '../../src/identity/process-defaults.js';

export interface TestAgent {
  agent: Agent;
  url: string;
  token: string;
  /** A fresh temporary directory, the agent's workdir. */
  workdir: string;
  /** fetch against the agent with the bearer token (unless `headers.authorization` is given). */
  request(method: string, pathAndQuery: string, init?: { body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  /** `request` + JSON body. */
  json<T = Record<string, unknown>>(
    method: string,
    pathAndQuery: string,
    init?: { body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  close(): Promise<void>;
}

/** Starts a real agent on 127.0.0.1:0 with a temporary workdir. */
export async function startTestAgent(options: { domains?: readonly Domain[]; allowedOrigins?: string[] } = {}): Promise<TestAgent> {
  const token = randomBytes(16).toString('hex');
  const workdir = await realpath(await mkdtemp(path.join(os.tmpdir(), 'cove-test-')));
  const agent = await createAgent({
    token: { kind: 'env', value: token },
    workdir,
    logger: createLogger(process.env.COVE_TEST_LOG ?? 'silent'),
    // Its processes' HOME is the workdir, as a process-driver workspace's is its own directory: never the host
    // user's, whose shell start-up files (and whatever they run) would make every interactive shell the host's.
    processes: new ProcessDefaults({ baseEnv: () => ({ ...process.env, HOME: workdir }) }),
    ...(options.domains ? { domains: options.domains } : {}),
    ...(options.allowedOrigins ? { allowedOrigins: options.allowedOrigins } : {}),
  });
  const url = await agent.listen('127.0.0.1', 0);

  const request: TestAgent['request'] = (method, pathAndQuery, init = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...init.headers };
    let body: string | Uint8Array | undefined;
    if (init.body !== undefined) {
      if (typeof init.body === 'string' || init.body instanceof Uint8Array) body = init.body;
      else {
        body = JSON.stringify(init.body);
        headers['content-type'] ??= 'application/json';
      }
    }
    return fetch(url + pathAndQuery, { method, headers, ...(body !== undefined ? { body } : {}) });
  };

  return {
    agent,
    url,
    token,
    workdir,
    request,
    async json(method, pathAndQuery, init) {
      const res = await request(method, pathAndQuery, init);
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`expected JSON from ${method} ${pathAndQuery} (status ${res.status}), got: ${text.slice(0, 200)}`);
      }
      return { status: res.status, body: body as never, headers: res.headers };
    },
    async close() {
      await agent.close();
      await rm(workdir, { recursive: true, force: true });
    },
  };
}
