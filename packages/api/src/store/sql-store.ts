import type { PublicPortRoute, WorkspaceRoute } from '@cove/protocol';
import { fromLifecycle, type LifecycleRow, toLifecycle, UPSERT_LIFECYCLE } from './lifecycle-rows.js';
import { fromMetadata, type MetadataRow, toMetadata } from './metadata-rows.js';
import { migrate } from './migrations.js';
import type {
  CredentialRecord,
  LifecycleRecord,
  MetadataRecord,
  PublicPortPatch,
  PublicPortRecord,
  WorkspacePatch,
  WorkspaceRecord,
} from './records.js';
import type { SqlDriver } from './sql-driver.js';
import type { Store, WorkspaceQuery } from './store.js';

interface WorkspaceRow {
  id: string;
  owner: string;
  name: string;
  image: string;
  cpus: number;
  memory_mb: number;
  disk_mb: number;
  status: string;
  ip: string | null;
  port: number | null;
  access_enabled: number;
  raw_token: string | null;
  generation: number;
  token_expires_at: string | null;
  public_access: number;
  allow_internet: number;
  private_link_ids: string;
  ingress_ports: string;
  egress: string;
  idempotency_key: string | null;
  last_ping_at: string | null;
  created_at: string;
  updated_at: string;
}

interface PublicPortRow {
  workspace_id: string;
  port: number;
  slug: string;
  label: string | null;
  auth: string;
  token_hash: string | null;
  generation: number;
  created_at: string;
  updated_at: string;
}

/** The `settings` key of the store-wide counter public ports take their generations from. */
const PUBLIC_PORT_GENERATION = 'public_port_generation';

/** A unique index refused the row (better-sqlite3's and pg's codes). */
function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

interface CredentialRow {
  client_id: string;
  secret_hash: string;
  owner: string;
  label: string;
  created_at: string;
  revoked_at: string | null;
}

const WORKSPACE_COLUMNS = [
  'id',
  'owner',
  'name',
  'image',
  'cpus',
  'memory_mb',
  'disk_mb',
  'status',
  'ip',
  'port',
  'access_enabled',
  'raw_token',
  'generation',
  'token_expires_at',
  'public_access',
  'allow_internet',
  'private_link_ids',
  'ingress_ports',
  'egress',
  'idempotency_key',
  'last_ping_at',
  'created_at',
  'updated_at',
] as const;

/** The store over either SQL driver. */
export class SqlStore implements Store {
  readonly #db: SqlDriver;

  constructor(db: SqlDriver) {
    this.#db = db;
  }

  get kind(): 'sqlite' | 'postgres' {
    return this.#db.dialect;
  }

  migrate(): Promise<number[]> {
    return migrate(this.#db);
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  async ensureSetting(key: string, create: () => string): Promise<string> {
    const existing = await this.#db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    if (existing[0]) return existing[0].value;
    await this.#db.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, create()]);
    const rows = await this.#db.query<{ value: string }>('SELECT value FROM settings WHERE key = $1', [key]);
    if (!rows[0]) throw new Error(`setting ${key} vanished`);
    return rows[0].value;
  }

  async insertCredential(c: CredentialRecord): Promise<void> {
    await this.#db.run(
      'INSERT INTO credentials (client_id, secret_hash, owner, label, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [c.clientId, c.secretHash, c.owner, c.label, c.createdAt, c.revokedAt],
    );
  }

  async getCredential(clientId: string): Promise<CredentialRecord | undefined> {
    const rows = await this.#db.query<CredentialRow>('SELECT * FROM credentials WHERE client_id = $1', [clientId]);
    return rows[0] && toCredential(rows[0]);
  }

  async listCredentials(): Promise<CredentialRecord[]> {
    const rows = await this.#db.query<CredentialRow>('SELECT * FROM credentials ORDER BY created_at, client_id');
    return rows.map(toCredential);
  }

  async revokeCredential(clientId: string, at: string): Promise<boolean> {
    return (await this.#db.run('UPDATE credentials SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL', [clientId, at])) > 0;
  }

  async insertWorkspace(record: WorkspaceRecord): Promise<{ record: WorkspaceRecord; created: boolean }> {
    const row = fromWorkspace(record);
    const placeholders = WORKSPACE_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
    // The unique (owner, idempotency_key) index settles concurrent retries: one insert wins, the others read it.
    const inserted = await this.#db.query<WorkspaceRow>(
      `INSERT INTO workspaces (${WORKSPACE_COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (owner, idempotency_key) DO NOTHING RETURNING *`,
      WORKSPACE_COLUMNS.map((c) => row[c]),
    );
    if (inserted[0]) return { record: toWorkspace(inserted[0]), created: true };
    const existing = await this.#db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE owner = $1 AND idempotency_key = $2', [
      record.owner,
      record.idempotencyKey,
    ]);
    if (!existing[0]) throw new Error('workspace insert conflicted but no row was found');
    return { record: toWorkspace(existing[0]), created: false };
  }

  async getWorkspace(id: string): Promise<WorkspaceRecord | undefined> {
    const rows = await this.#db.query<WorkspaceRow>('SELECT * FROM workspaces WHERE id = $1', [id]);
    return rows[0] && toWorkspace(rows[0]);
  }

  async listWorkspaces(query: WorkspaceQuery = {}): Promise<{ items: WorkspaceRecord[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.owner !== undefined) {
      params.push(query.owner);
      where.push(`owner = $${params.length}`);
    }
    if (query.status !== undefined) {
      params.push(query.status);
      where.push(`status = $${params.length}`);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const countRows = await this.#db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM workspaces ${clause}`, params);
    const total = Number(countRows[0]?.n ?? 0);
    const paged = [...params, query.limit ?? 1_000_000, query.offset ?? 0];
    const rows = await this.#db.query<WorkspaceRow>(
      `SELECT * FROM workspaces ${clause} ORDER BY created_at, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      paged,
    );
    return { items: rows.map(toWorkspace), total };
  }

  updateWorkspace(id: string, patch: WorkspacePatch): Promise<WorkspaceRecord | undefined> {
    return this.#update(id, patch, false);
  }

  bumpGeneration(id: string, patch: WorkspacePatch = {}): Promise<WorkspaceRecord | undefined> {
    return this.#update(id, patch, true);
  }

  async deleteWorkspace(id: string): Promise<boolean> {
    // Ports first: a crash between the two leaves a workspace without ports, never ports without a workspace.
    await this.#db.run('DELETE FROM public_ports WHERE workspace_id = $1', [id]);
    await this.#db.run('DELETE FROM workspace_lifecycle WHERE workspace_id = $1', [id]);
    await this.#db.run('DELETE FROM workspace_metadata WHERE workspace_id = $1', [id]);
    return (await this.#db.run('DELETE FROM workspaces WHERE id = $1', [id])) > 0;
  }

  async listPublicPorts(workspaceId: string): Promise<PublicPortRecord[]> {
    const rows = await this.#db.query<PublicPortRow>('SELECT * FROM public_ports WHERE workspace_id = $1 ORDER BY port', [workspaceId]);
    return rows.map(toPublicPort);
  }

  async insertPublicPort(r: Omit<PublicPortRecord, 'generation'>): Promise<PublicPortRecord | 'slug_taken' | 'port_taken'> {
    const generation = await this.#nextGeneration();
    const rows = await this.#db.query<PublicPortRow>(
      `INSERT INTO public_ports (workspace_id, port, slug, label, auth, token_hash, generation, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING *`,
      [r.workspaceId, r.port, r.slug, r.label, r.auth, r.tokenSha256, generation, r.createdAt, r.updatedAt],
    );
    if (rows[0]) return toPublicPort(rows[0]);
    const taken = await this.#db.query<PublicPortRow>('SELECT * FROM public_ports WHERE workspace_id = $1 AND port = $2', [
      r.workspaceId,
      r.port,
    ]);
    return taken[0] ? 'port_taken' : 'slug_taken';
  }

  async updatePublicPort(
    workspaceId: string,
    port: number,
    patch: PublicPortPatch,
    bump: boolean,
  ): Promise<PublicPortRecord | 'slug_taken' | undefined> {
    const params: unknown[] = [workspaceId, port];
    const sets: string[] = [];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.slug !== undefined) set('slug', patch.slug);
    if (patch.label !== undefined) set('label', patch.label);
    if (patch.auth !== undefined) set('auth', patch.auth);
    if (patch.tokenSha256 !== undefined) set('token_hash', patch.tokenSha256);
    if (bump) set('generation', await this.#nextGeneration());
    set('updated_at', new Date().toISOString());
    try {
      const rows = await this.#db.query<PublicPortRow>(
        `UPDATE public_ports SET ${sets.join(', ')} WHERE workspace_id = $1 AND port = $2 RETURNING *`,
        params,
      );
      return rows[0] && toPublicPort(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) return 'slug_taken';
      throw err;
    }
  }

  async deletePublicPort(workspaceId: string, port: number): Promise<boolean> {
    return (await this.#db.run('DELETE FROM public_ports WHERE workspace_id = $1 AND port = $2', [workspaceId, port])) > 0;
  }

  async getPublicPort(slug: string): Promise<PublicPortRoute | undefined> {
    const rows = await this.#db.query<PublicPortRow>('SELECT * FROM public_ports WHERE slug = $1', [slug]);
    if (!rows[0]) return undefined;
    const p = toPublicPort(rows[0]);
    return { workspaceId: p.workspaceId, slug: p.slug, port: p.port, auth: p.auth, tokenSha256: p.tokenSha256, generation: p.generation };
  }

  /** The next public-port generation: one atomic increment, so concurrent instances never hand out the same one. */
  async #nextGeneration(): Promise<number> {
    await this.#db.run('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [PUBLIC_PORT_GENERATION, '0']);
    const rows = await this.#db.query<{ value: string }>(
      'UPDATE settings SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = $1 RETURNING value',
      [PUBLIC_PORT_GENERATION],
    );
    if (!rows[0]) throw new Error('public port generation counter vanished');
    return Number(rows[0].value);
  }

  async getLifecycle(workspaceId: string): Promise<LifecycleRecord | undefined> {
    const rows = await this.#db.query<LifecycleRow>('SELECT * FROM workspace_lifecycle WHERE workspace_id = $1', [workspaceId]);
    return rows[0] && toLifecycle(rows[0]);
  }

  async listLifecycles(): Promise<LifecycleRecord[]> {
    const rows = await this.#db.query<LifecycleRow>('SELECT * FROM workspace_lifecycle ORDER BY workspace_id');
    return rows.map(toLifecycle);
  }

  async putLifecycle(record: LifecycleRecord): Promise<void> {
    await this.#db.run(UPSERT_LIFECYCLE, fromLifecycle(record));
  }

  async getMetadata(workspaceId: string): Promise<MetadataRecord> {
    const rows = await this.#db.query<MetadataRow>('SELECT * FROM workspace_metadata WHERE workspace_id = $1', [workspaceId]);
    return rows[0] ? toMetadata(rows[0]) : { workspaceId, entries: {}, version: 0, updatedAt: null };
  }

  async putMetadata(workspaceId: string, entries: Record<string, string>, expectedVersion: number): Promise<MetadataRecord | undefined> {
    const now = new Date().toISOString();
    const text = fromMetadata(entries);
    // The first write inserts (only for a workspace that exists: no row outlives its workspace's delete for
    // long); a later one updates the version it read. Either way a concurrent writer's row makes it a no-op.
    const rows =
      expectedVersion === 0
        ? await this.#db.query<MetadataRow>(
            `INSERT INTO workspace_metadata (workspace_id, entries, version, updated_at)
             SELECT $1, $2, 1, $3 WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = $1)
             ON CONFLICT (workspace_id) DO NOTHING RETURNING *`,
            [workspaceId, text, now],
          )
        : await this.#db.query<MetadataRow>(
            `UPDATE workspace_metadata SET entries = $2, version = version + 1, updated_at = $3
             WHERE workspace_id = $1 AND version = $4 RETURNING *`,
            [workspaceId, text, now, expectedVersion],
          );
    return rows[0] && toMetadata(rows[0]);
  }

  async getRoute(workspaceId: string): Promise<WorkspaceRoute | undefined> {
    const ws = await this.getWorkspace(workspaceId);
    if (!ws) return undefined;
    // Only a stopped workspace costs a second look-up: whether a policy (not a user) stopped it.
    let wakeable = ws.status === 'paused';
    if (ws.status === 'stopped') {
      const rows = await this.#db.query<{ wake_on_traffic: number }>(
        'SELECT wake_on_traffic FROM workspace_lifecycle WHERE workspace_id = $1',
        [workspaceId],
      );
      wakeable = Boolean(Number(rows[0]?.wake_on_traffic ?? 0));
    }
    const reachable = ws.accessEnabled && ws.rawToken !== null && ws.ip !== null && ws.port !== null;
    return {
      workspaceId: ws.id,
      ip: ws.ip ?? '',
      port: ws.port ?? 0,
      rawToken: ws.rawToken ?? '',
      generation: ws.generation,
      enabled: reachable,
      publicAccess: ws.network.publicAccess,
      running: ws.status === 'running',
      paused: ws.status === 'paused',
      wakeable,
    };
  }

  async #update(id: string, patch: WorkspacePatch, bump: boolean): Promise<WorkspaceRecord | undefined> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    const set = (column: string, value: unknown) => {
      params.push(value);
      sets.push(`${column} = $${params.length}`);
    };
    if (patch.name !== undefined) set('name', patch.name);
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.ip !== undefined) set('ip', patch.ip);
    if (patch.port !== undefined) set('port', patch.port);
    if (patch.accessEnabled !== undefined) set('access_enabled', patch.accessEnabled ? 1 : 0);
    if (patch.rawToken !== undefined) set('raw_token', patch.rawToken);
    if (patch.tokenExpiresAt !== undefined) set('token_expires_at', patch.tokenExpiresAt);
    if (patch.lastPingAt !== undefined) set('last_ping_at', patch.lastPingAt);
    if (patch.cpus !== undefined) set('cpus', patch.cpus);
    if (patch.memoryMb !== undefined) set('memory_mb', patch.memoryMb);
    if (patch.diskMb !== undefined) set('disk_mb', patch.diskMb);
    if (patch.network !== undefined) {
      set('public_access', patch.network.publicAccess ? 1 : 0);
      set('allow_internet', patch.network.allowInternet ? 1 : 0);
      set('private_link_ids', JSON.stringify(patch.network.privateLinkIds));
      set('ingress_ports', JSON.stringify(patch.network.ingressPorts));
      set('egress', JSON.stringify(patch.network.egress));
    }
    if (bump) sets.push('generation = generation + 1');
    set('updated_at', new Date().toISOString());
    const rows = await this.#db.query<WorkspaceRow>(`UPDATE workspaces SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, params);
    return rows[0] && toWorkspace(rows[0]);
  }
}

function toCredential(row: CredentialRow): CredentialRecord {
  return {
    clientId: row.client_id,
    secretHash: row.secret_hash,
    owner: row.owner,
    label: row.label,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
}

function toPublicPort(row: PublicPortRow): PublicPortRecord {
  return {
    workspaceId: row.workspace_id,
    port: Number(row.port),
    slug: row.slug,
    label: row.label,
    auth: row.auth === 'token' ? 'token' : 'public',
    tokenSha256: row.token_hash,
    generation: Number(row.generation),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toWorkspace(row: WorkspaceRow): WorkspaceRecord {
  return {
    id: row.id,
    owner: row.owner,
    name: row.name,
    image: row.image,
    cpus: Number(row.cpus),
    memoryMb: Number(row.memory_mb),
    diskMb: Number(row.disk_mb),
    status: row.status === 'running' || row.status === 'paused' ? row.status : 'stopped',
    ip: row.ip,
    port: row.port === null ? null : Number(row.port),
    accessEnabled: Boolean(Number(row.access_enabled)),
    rawToken: row.raw_token,
    generation: Number(row.generation),
    tokenExpiresAt: row.token_expires_at,
    network: {
      publicAccess: Boolean(Number(row.public_access)),
      allowInternet: Boolean(Number(row.allow_internet)),
      privateLinkIds: JSON.parse(row.private_link_ids) as string[],
      ingressPorts: JSON.parse(row.ingress_ports) as number[],
      egress: JSON.parse(row.egress) as string[],
    },
    idempotencyKey: row.idempotency_key,
    lastPingAt: row.last_ping_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function fromWorkspace(ws: WorkspaceRecord): Record<(typeof WORKSPACE_COLUMNS)[number], unknown> {
  return {
    id: ws.id,
    owner: ws.owner,
    name: ws.name,
    image: ws.image,
    cpus: ws.cpus,
    memory_mb: ws.memoryMb,
    disk_mb: ws.diskMb,
    status: ws.status,
    ip: ws.ip,
    port: ws.port,
    access_enabled: ws.accessEnabled ? 1 : 0,
    raw_token: ws.rawToken,
    generation: ws.generation,
    token_expires_at: ws.tokenExpiresAt,
    public_access: ws.network.publicAccess ? 1 : 0,
    allow_internet: ws.network.allowInternet ? 1 : 0,
    private_link_ids: JSON.stringify(ws.network.privateLinkIds),
    ingress_ports: JSON.stringify(ws.network.ingressPorts),
    egress: JSON.stringify(ws.network.egress),
    idempotency_key: ws.idempotencyKey,
    last_ping_at: ws.lastPingAt,
    created_at: ws.createdAt,
    updated_at: ws.updatedAt,
  };
}
