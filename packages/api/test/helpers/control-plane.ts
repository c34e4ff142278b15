import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_BIN } from '@cove/agent/main';
import {
  type ControlPlane,
  type ControlPlaneOptions,
  createApiLogger,
  createControlPlane,
  createCredential,
  openStore,
  type Store,
  type StoreConfig,
  withRouteChanges,
} from '@cove/api';
import { ProcessDriver } from '@cove/process-driver';

/** The `cove` command (for the tests of `cove api`). */
export const COVE_BIN = fileURLToPath(new URL('../../../cli/bin/cove.js', import.meta.url));
/** The agent's own entry, which the process driver runs (the built one: the test script builds first). */
export const AGENT_COMMAND = [process.execPath, AGENT_BIN] as const;

export interface Client {
  clientId: string;
  clientSecret: string;
}

export interface TestControlPlane {
  cp: ControlPlane;
  store: Store;
  url: string;
  dataDir: string;
  /** A credential of owner `alice`. */
  client: Client;
  /** Creates another credential (default: another owner). */
  newClient(owner?: string): Promise<Client>;
  /** fetch with `client`'s credentials unless `auth` says otherwise (`null` = none). */
  request(
    method: string,
    pathAndQuery: string,
    init?: { body?: unknown; headers?: Record<string, string>; auth?: Client | null },
  ): Promise<Response>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field and assert on them
  json<T = Record<string, any>>(
    method: string,
    pathAndQuery: string,
    init?: { body?: unknown; headers?: Record<string, string>; auth?: Client | null },
  ): Promise<{ status: number; body: T; headers: Headers }>;
  /** Creates a workspace and returns its id. */
  createWorkspace(body?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startTestControlPlane(
  options: {
    store?: StoreConfig;
    dataDir?: string;
    keepDataDir?: boolean;
    limits?: ControlPlaneOptions['limits'];
    /** The driver to run workspaces with (default: a process driver in the data directory); `close` shuts it down. */
    driver?: ControlPlaneOptions['driver'];
    previewDomain?: string;
    gatewayUrl?: string;
    imageImport?: ControlPlaneOptions['imageImport'];
    archiveUpload?: ControlPlaneOptions['archiveUpload'];
    /** Told of each workspace whose route the control plane changes, as `cove up` tells its gateway (withRouteChanges). */
    routeChanged?: (workspaceId: string) => void;
  } = {},
): Promise<TestControlPlane> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'cove-api-')));
  const store = await openStore(options.store ?? { kind: 'sqlite', file: path.join(dataDir, 'cove.db') });
  const log = createApiLogger(process.env.COVE_TEST_LOG ?? 'silent');
  const driver = options.driver ?? new ProcessDriver({ root: path.join(dataDir, 'workspaces'), agentCommand: AGENT_COMMAND, log });
  const routeChanged = options.routeChanged;
  const cp = await createControlPlane({
    store: routeChanged ? withRouteChanges(store, routeChanged) : store,
    driver,
    logger: log,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.previewDomain ? { previewDomain: options.previewDomain } : {}),
    ...(options.gatewayUrl ? { gatewayUrl: options.gatewayUrl } : {}),
    ...(options.imageImport ? { imageImport: options.imageImport } : {}),
    ...(options.archiveUpload ? { archiveUpload: options.archiveUpload } : {}),
  });
  const url = await cp.listen('127.0.0.1', 0);
  const issued = await createCredential(store, 'alice', 'test');
  const client = { clientId: issued.clientId, clientSecret: issued.clientSecret };

  const request: TestControlPlane['request'] = (method, pathAndQuery, init = {}) => {
    const auth = init.auth === undefined ? client : init.auth;
    const headers: Record<string, string> = {};
    if (auth) {
      headers['x-client-id'] = auth.clientId;
      headers['x-client-secret'] = auth.clientSecret;
    }
    Object.assign(headers, init.headers);
    let body: string | undefined;
    if (init.body !== undefined) {
      body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
      headers['content-type'] ??= 'application/json';
    }
    return fetch(url + pathAndQuery, { method, headers, ...(body !== undefined ? { body } : {}) });
  };

  const json: TestControlPlane['json'] = async (method, pathAndQuery, init) => {
    const res = await request(method, pathAndQuery, init);
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`expected JSON from ${method} ${pathAndQuery} (status ${res.status}), got: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: body as never, headers: res.headers };
  };

  return {
    cp,
    store,
    url,
    dataDir,
    client,
    async newClient(owner = 'bob') {
      const c = await createCredential(store, owner);
      return { clientId: c.clientId, clientSecret: c.clientSecret };
    },
    request,
    json,
    async createWorkspace(body = {}) {
      const res = await json('POST', '/workspace', { body });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.workspace.id as string;
    },
    async close() {
      await cp.close();
      await store.close();
      if (!options.keepDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
