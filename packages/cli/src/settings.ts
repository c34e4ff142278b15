import os from 'node:os';
import path from 'node:path';
import { SERVER_DEFAULTS } from '@cove/protocol/defaults';

/**
 * One configurable value. Every command that takes it resolves it the same
 * way (see resolve-setting.ts): its flag, else `env`, else `key` in its file,
 * else `default`. `cove up --api-listen` and `cove api --listen` are one
 * setting spelled two ways, so they share the variable, the key and the default.
 */
export interface Setting {
  /** The name in the file (snake_case, as credentials.json spells its keys). */
  key: string;
  /** The environment variable. */
  env: string;
  /** Which file may hold it: `<data-dir>/config.json` (servers) or `<data-dir>/credentials.json` (what `cove up` writes). */
  file?: 'config' | 'credentials';
  /** Absent: the setting is optional (the code that uses it decides). */
  default?: string;
  /** The values it may take (checked wherever the value comes from). */
  choices?: readonly string[];
  /** A list: several flag values, or commas in the environment, or a JSON array in the file. */
  list?: boolean;
  /** Shown in help, followed by the variable and the default. */
  description: string;
}

const homeDataDir = path.join(os.homedir(), SERVER_DEFAULTS.dataDirName);
const url = (listen: string) => `http://${listen}`;

/** Every setting of every command, with its default from `@cove/protocol/defaults`. */
export const SETTINGS = {
  dataDir: {
    key: 'data_dir',
    env: 'COVE_DATA_DIR',
    default: homeDataDir,
    description: 'where the store, credentials, config.json and workspaces live',
  },
  apiListen: {
    key: 'api_listen',
    env: 'COVE_API_LISTEN',
    file: 'config',
    default: SERVER_DEFAULTS.apiListen,
    description: "the control plane's address",
  },
  gatewayListen: {
    key: 'gateway_listen',
    env: 'COVE_GATEWAY_LISTEN',
    file: 'config',
    default: SERVER_DEFAULTS.gatewayListen,
    description: "the gateway's address",
  },
  driver: {
    key: 'driver',
    env: 'COVE_DRIVER',
    file: 'config',
    default: SERVER_DEFAULTS.driver,
    choices: ['auto', 'sandbox', 'process'],
    description:
      'how workspaces run: sandbox (isolated; root on Linux), process (no isolation, development), or auto (sandbox where it can run)',
  },
  runtime: {
    key: 'runtime',
    env: 'COVE_RUNTIME',
    file: 'config',
    default: SERVER_DEFAULTS.runtime,
    description:
      "the sandbox driver's OCI runtime: runc, crun or runsc, a name on PATH or a path, then any global flags ('runsc --platform=systrap'); checked at start",
  },
  subnet: {
    key: 'subnet',
    env: 'COVE_SUBNET',
    file: 'config',
    description: "the sandbox workspaces' private subnet; unset, the driver picks one per data directory",
  },
  nftTable: {
    key: 'nft_table',
    env: 'COVE_NFT_TABLE',
    file: 'config',
    description: "the sandbox driver's nftables table (family inet); unset, the driver picks one per data directory",
  },
  imagesDir: {
    key: 'images_dir',
    env: 'COVE_IMAGES_DIR',
    file: 'config',
    default: SERVER_DEFAULTS.imagesDir,
    description: 'image cache of the sandbox driver',
  },
  warmPool: {
    key: 'warm_pool',
    env: 'COVE_WARM_POOL',
    file: 'config',
    default: String(SERVER_DEFAULTS.warmPool),
    description: 'sandbox workspaces kept ready for fast creates (default image and disk size); auto: one per 3 GiB of memory, 1–8',
  },
  diskOvercommit: {
    key: 'disk_overcommit',
    env: 'COVE_DISK_OVERCOMMIT',
    file: 'config',
    default: 'false',
    choices: ['true', 'false', '1', '0'],
    description:
      "let sandbox disks together exceed the data volume's free space (sparse; writes may then be lost once it is full: docs/faults.md)",
  },
  maxWorkspaces: {
    key: 'max_workspaces',
    env: 'COVE_MAX_WORKSPACES',
    file: 'config',
    default: String(SERVER_DEFAULTS.maxWorkspaces),
    description: 'workspaces each account may have',
  },
  accountCpus: {
    key: 'account_cpus',
    env: 'COVE_ACCOUNT_CPUS',
    file: 'config',
    description: "CPUs each account's workspaces may have in all, stopped ones included (unset: no cap)",
  },
  accountMemoryMb: {
    key: 'account_memory_mb',
    env: 'COVE_ACCOUNT_MEMORY_MB',
    file: 'config',
    description: "MiB of memory each account's workspaces may have in all (unset: no cap)",
  },
  accountDiskMb: {
    key: 'account_disk_mb',
    env: 'COVE_ACCOUNT_DISK_MB',
    file: 'config',
    description: "MiB of disk each account's workspaces may have in all (unset: no cap)",
  },
  allowOrigin: {
    key: 'allow_origin',
    env: 'COVE_ALLOW_ORIGIN',
    file: 'config',
    list: true,
    description: 'browser origins allowed to call the gateway (CORS) and open WebSockets besides its host',
  },
  previewDomain: {
    key: 'preview_domain',
    env: 'COVE_PREVIEW_DOMAIN',
    file: 'config',
    default: SERVER_DEFAULTS.previewDomain,
    description:
      'the domain exposed ports are served under, http://<slug>.<domain>:<gateway port>/ (localhost: *.localhost resolves to loopback)',
  },
  publicGatewayUrl: {
    key: 'gateway_url',
    env: 'COVE_GATEWAY_URL',
    file: 'config',
    default: url(SERVER_DEFAULTS.gatewayListen),
    description: "the gateway's URL as clients reach it: public port URLs take its scheme and port",
  },
  store: {
    key: 'store',
    env: 'COVE_STORE',
    file: 'config',
    default: SERVER_DEFAULTS.store,
    choices: ['sqlite', 'postgres'],
    description: 'where state is kept: sqlite (in the data directory) or postgres',
  },
  databaseUrl: {
    key: 'database_url',
    env: 'COVE_DATABASE_URL',
    file: 'config',
    description: 'PostgreSQL URL (prefer the environment or the file: command lines are visible to every user)',
  },
  routesFile: {
    key: 'routes_file',
    env: 'COVE_ROUTES_FILE',
    file: 'config',
    description: 'route from a JSON file instead of a store ({"workspaces":[…]}, re-read on SIGHUP)',
  },
  secretFile: {
    key: 'secret_file',
    env: 'COVE_GATEWAY_SECRET_FILE',
    file: 'config',
    description: "file holding the JWT secret (base64url); default: the store's, shared with the control plane",
  },
  connectTimeout: {
    key: 'connect_timeout',
    env: 'COVE_CONNECT_TIMEOUT',
    file: 'config',
    default: String(SERVER_DEFAULTS.gatewayConnectTimeoutMs),
    description: 'milliseconds to connect to an agent before answering 504',
  },
  headersTimeout: {
    key: 'headers_timeout',
    env: 'COVE_HEADERS_TIMEOUT',
    file: 'config',
    default: String(SERVER_DEFAULTS.gatewayHeadersTimeoutMs),
    description: "milliseconds to wait for an agent's response headers before answering 504",
  },
  apiUrl: {
    key: 'api_url',
    env: 'COVE_API_URL',
    file: 'credentials',
    default: url(SERVER_DEFAULTS.apiListen),
    description: 'control plane URL',
  },
  gatewayUrl: {
    key: 'gateway_url',
    env: 'COVE_GATEWAY_URL',
    file: 'credentials',
    default: url(SERVER_DEFAULTS.gatewayListen),
    description: 'gateway URL',
  },
  clientId: {
    key: 'client_id',
    env: 'COVE_CLIENT_ID',
    file: 'credentials',
    description: 'client id',
  },
  clientSecret: {
    key: 'client_secret',
    env: 'COVE_CLIENT_SECRET',
    file: 'credentials',
    description: 'client secret (prefer the environment: command lines are visible to every user)',
  },
  mcpListen: {
    key: 'mcp_listen',
    env: 'COVE_MCP_LISTEN',
    description: 'serve MCP over streamable HTTP on this address instead of stdio',
  },
  mcpToken: {
    key: 'mcp_token',
    env: 'COVE_MCP_TOKEN',
    file: 'config',
    description: 'the bearer token HTTP clients must send (unset: one is generated and printed)',
  },
} as const satisfies Record<string, Setting>;
