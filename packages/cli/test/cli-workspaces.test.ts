// `cove ws`, `cove access`, `cove network` and configuration, run as users run them, against a real stack.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConnection } from '../src/config.js';
import { type Stack, startStack } from './helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read parsed JSON field by field and assert on it
function json(stdout: Buffer): any {
  return JSON.parse(stdout.toString());
}

describe('cove ws', () => {
  it('create, list, get, stop, start, restart and rm with --json, by id and by name', { timeout: 120_000 }, async () => {
    const created = await stack.run(['ws', 'create', '--name', 'cli-ws', '--cpus', '2', '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const ws = json(created.stdout);
    expect(ws).toMatchObject({ name: 'cli-ws', status: 'running', config: { cpus: 2 } });
    expect(ws.id).toMatch(/^ws_[a-z0-9]+$/);

    const list = await stack.run(['ws', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(json(list.stdout).map((w: { id: string }) => w.id)).toContain(ws.id);

    const table = await stack.run(['ws', 'list']);
    expect(table.stdout.toString()).toMatch(new RegExp(`^ID +NAME +STATUS +IMAGE +CREATED\\n(.*\\n)*${ws.id} +cli-ws +running`, 'm'));

    const byName = await stack.run(['ws', 'get', 'cli-ws', '--json']);
    expect(json(byName.stdout)).toMatchObject({ id: ws.id, name: 'cli-ws' });

    const stopped = await stack.run(['ws', 'stop', 'cli-ws']);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout.toString()).toBe(`${ws.id} stopped\n`);
    expect(json((await stack.run(['ws', 'get', ws.id, '--json'])).stdout).status).toBe('stopped');

    expect((await stack.run(['ws', 'start', ws.id])).stdout.toString()).toBe(`${ws.id} running\n`);
    const restarted = await stack.run(['ws', 'restart', ws.id, '--json']);
    expect(json(restarted.stdout)).toMatchObject({ action: 'restart', workspace: { id: ws.id, status: 'running' } });
    expect((await stack.run(['ws', 'pause', 'cli-ws'])).stdout.toString()).toBe(`${ws.id} paused\n`);
    expect(json((await stack.run(['ws', 'get', ws.id, '--json'])).stdout).status).toBe('paused');
    expect((await stack.run(['ws', 'resume', 'cli-ws'])).stdout.toString()).toBe(`${ws.id} running\n`);

    const removed = await stack.run(['ws', 'rm', 'cli-ws']);
    expect(removed.code).toBe(0);
    expect(removed.stdout.toString()).toBe(`deleted ${ws.id}\n`);
    const gone = await stack.run(['ws', 'get', ws.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^cove: .*\(404 not_found\)\n$/);
    expect(gone.stdout.length).toBe(0);
  });

  it('an unknown name is exit 1 with one line on stderr', async () => {
    const res = await stack.run(['ws', 'get', 'no-such-name']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe("cove: no workspace with id or name 'no-such-name'\n");
  });

  it('usage errors are exit 2', async () => {
    const unknown = await stack.run(['ws', 'frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    const badFlag = await stack.run(['ws', 'create', '--cpus', 'many']);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("invalid --cpus 'many'");
    const missingArg = await stack.run(['ws', 'get']);
    expect(missingArg.code).toBe(2);
    const help = await stack.run(['ws', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.toString()).toContain('Examples:');
  });
});

describe('cove access and cove network', () => {
  it('enable, status, rotate, raw and disable; network get and set', { timeout: 120_000 }, async () => {
    const ws = json((await stack.run(['ws', 'create', '--name', 'cli-access', '--json'])).stdout);

    const enabled = json((await stack.run(['access', 'enable', ws.id, '--json'])).stdout);
    expect(enabled).toMatchObject({ success: true, enabled: true });
    expect(enabled.token).toMatch(/^eyJ/);
    expect(json((await stack.run(['access', 'status', 'cli-access', '--json'])).stdout)).toMatchObject({ enabled: true });

    const rotated = json((await stack.run(['access', 'rotate', ws.id, '--json'])).stdout);
    expect(rotated.token).toMatch(/^eyJ/);
    expect(rotated.token).not.toBe(enabled.token);

    const raw = json((await stack.run(['access', 'raw', ws.id, '--json'])).stdout);
    expect(raw.token).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof raw.port).toBe('number');

    const human = await stack.run(['access', 'status', ws.id]);
    expect(human.stdout.toString()).toMatch(/^workspace: +ws_\w+\nenabled: +yes\n/);

    expect((await stack.run(['access', 'disable', ws.id])).code).toBe(0);
    expect(json((await stack.run(['access', 'status', ws.id, '--json'])).stdout)).toMatchObject({ enabled: false });

    const other = json((await stack.run(['ws', 'create', '--json'])).stdout);
    const net0 = json((await stack.run(['network', 'get', ws.id, '--json'])).stdout);
    expect(net0).toMatchObject({ public_access: false, private_link_ids: [] });

    const set = await stack.run(['network', 'set', 'cli-access', '--public-access', '--private-links', `${other.id}`, '--json']);
    expect(set.code).toBe(0);
    expect(json(set.stdout)).toMatchObject({ public_access: true, private_link_ids: [other.id] });

    const unset = json((await stack.run(['network', 'set', ws.id, '--no-public-access', '--private-links', '', '--json'])).stdout);
    expect(unset).toMatchObject({ public_access: false, private_link_ids: [] });

    const egress = await stack.run(['network', 'set', ws.id, '--egress', 'Deb.Debian.org, 203.0.113.0/24']);
    expect(egress.stdout.toString()).toMatch(/^egress: +deb\.debian\.org, 203\.0\.113\.0\/24$/m);
    const anyEgress = json((await stack.run(['network', 'set', ws.id, '--egress', '', '--json'])).stdout);
    expect(anyEgress.egress).toEqual([]);
    const badEgress = await stack.run(['network', 'set', ws.id, '--egress', 'https://x.example']);
    expect(badEgress.code).not.toBe(0);
    expect(badEgress.stderr.toString()).toContain("'https://x.example' is not an IPv4 address");

    const nothing = await stack.run(['network', 'set', ws.id]);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/^cove: nothing to change/);
  });
});

describe('configuration', () => {
  it('resolves each setting flag > environment > credentials file > default', async () => {
    const dir = await stack.tempDir();
    await writeFile(
      path.join(dir, 'credentials.json'),
      JSON.stringify({ client_id: 'file-id', client_secret: 'file-secret', api_url: 'http://file', gateway_url: 'http://file-gw' }),
    );
    const env = { COVE_DATA_DIR: dir, COVE_API_URL: 'http://env', COVE_CLIENT_ID: 'env-id' };
    expect(resolveConnection({ apiUrl: 'http://flag' }, env)).toEqual({
      apiUrl: 'http://flag',
      gatewayUrl: 'http://file-gw',
      clientId: 'env-id',
      clientSecret: 'file-secret',
    });
    expect(resolveConnection({}, { COVE_DATA_DIR: dir })).toMatchObject({ apiUrl: 'http://file', clientId: 'file-id' });
    // Without a file the URLs are `cove up`'s defaults; the credentials have none.
    expect(() => resolveConnection({}, { COVE_DATA_DIR: path.join(dir, 'none') })).toThrow(/no client credentials/);
  });

  it('works from the credentials file alone, and a flag beats the environment', { timeout: 60_000 }, async () => {
    const dir = await stack.tempDir();
    await writeFile(
      path.join(dir, 'credentials.json'),
      JSON.stringify({
        client_id: stack.clientId,
        client_secret: stack.clientSecret,
        api_url: stack.apiUrl,
        gateway_url: stack.gatewayUrl,
      }),
    );
    const fileOnly = {
      COVE_DATA_DIR: dir,
      COVE_API_URL: undefined,
      COVE_GATEWAY_URL: undefined,
      COVE_CLIENT_ID: undefined,
      COVE_CLIENT_SECRET: undefined,
    };
    const listed = await stack.run(['ws', 'list', '--json'], { env: fileOnly });
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);

    // The environment points at a port nobody listens on; the flag wins.
    const badEnv = { ...fileOnly, COVE_API_URL: 'http://127.0.0.1:9' };
    const unreachable = await stack.run(['ws', 'list'], { env: badEnv });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toMatch(/^cove: cannot reach http:\/\/127\.0\.0\.1:9/);
    const flagged = await stack.run(['ws', 'list', '--json', '--api-url', stack.apiUrl], { env: badEnv });
    expect(flagged.code).toBe(0);

    // Wrong credentials from a flag beat good ones from the file: the server refuses (exit 1).
    const refused = await stack.run(['ws', 'list', '--client-secret', 'wrong'], { env: fileOnly });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^cove: .*\(401 /);
  });

  it('says where settings come from when none are configured (exit 2)', async () => {
    const dir = await stack.tempDir();
    const res = await stack.run(['ws', 'list'], {
      env: {
        COVE_DATA_DIR: dir,
        COVE_API_URL: undefined,
        COVE_GATEWAY_URL: undefined,
        COVE_CLIENT_ID: undefined,
        COVE_CLIENT_SECRET: undefined,
      },
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `cove: no client credentials (start a server with \`cove up\`, which writes ${path.join(dir, 'credentials.json')}, or set --client-id and --client-secret / COVE_CLIENT_ID and COVE_CLIENT_SECRET)\n`,
    );
  });
});
