// workspace_search when the workspace has no ripgrep: the tool installs it (POST /files/search/init) and
// searches. The workspace is a process-driver one whose agent runs in its own mount namespace, where the
// host's rg is hidden and /usr/local/bin (where the install goes) is an empty tmpfs: nothing on the host
// changes. The agent installs the "bundled" copy it finds next to its entry script.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createGateway, type Gateway } from '@cove/gateway';
import { ProcessDriver } from '@cove/process-driver';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../../api/test/helpers/control-plane.js';
import { connectStdio, type McpSession } from './helpers/mcp-client.js';

const HOST_RG = '/usr/bin/rg';
/** Only root makes mount namespaces; outside CI the test is skipped without it, in CI it runs and fails. */
const skip = process.getuid?.() === 0 || process.env.CI ? undefined : 'needs root (a mount namespace hides the host ripgrep)';

describe.skipIf(skip)('workspace_search installs ripgrep when the workspace lacks it', () => {
  let dir: string;
  let t: TestControlPlane;
  let gateway: Gateway;
  let mcp: McpSession;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cove-mcp-rg-'));
    const agentMain = new URL('../../agent/dist/main.js', import.meta.url).href;
    await writeFile(
      path.join(dir, 'agent.mjs'),
      `import { main } from ${JSON.stringify(agentMain)};\nconst code = await main(process.argv.slice(2));\nif (code !== 0) process.exit(code);\n`,
    );
    await copyFile(HOST_RG, path.join(dir, 'rg'));
    const hide = `mount -t tmpfs tmpfs /usr/local/bin && mount --bind /dev/null ${HOST_RG} && exec "$0" "$@"`;
    const log = pino({ level: process.env.COVE_TEST_LOG ?? 'silent' });
    const driver = new ProcessDriver({
      root: path.join(dir, 'workspaces'),
      agentCommand: [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        hide,
        process.execPath,
        path.join(dir, 'agent.mjs'),
      ],
      log,
    });
    t = await startTestControlPlane({ driver });
    gateway = createGateway({ routes: t.store, secret: t.cp.context.jwtSecret, routeCacheMs: 0, logger: log });
    const gatewayURL = await gateway.listen('127.0.0.1', 0);
    mcp = await connectStdio({
      COVE_API_URL: t.url,
      COVE_GATEWAY_URL: gatewayURL,
      COVE_CLIENT_ID: t.client.clientId,
      COVE_CLIENT_SECRET: t.client.clientSecret,
      COVE_DATA_DIR: dir,
    });
  }, 120_000);
  afterAll(async () => {
    await mcp?.close();
    await gateway?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the install, finds the matches, and installs only once', { timeout: 120_000 }, async () => {
    const ws = (await mcp.ok('workspace_create', { name: 'no-rg' })).workspace.id;
    const home = `/tmp/mcp-rg-${ws}`;
    await mcp.ok('workspace_write_file', { workspace: ws, path: `${home}/a.txt`, content: 'needle in a haystack\n' });
    // The workspace really has no ripgrep.
    const which = await mcp.ok('workspace_exec', { workspace: ws, cmd: 'command -v rg || echo none' });
    expect(which.stdout).toBe('none\n');

    const first = await mcp.call('workspace_search', { workspace: ws, query: 'needle', path: home });
    expect(first.isError).toBe(false);
    expect(first.structured).toMatchObject({ ripgrep_installed: true, total_matches: 1 });
    expect(first.text).toContain('ripgrep was missing in the workspace: installed it');
    expect(first.text).toContain('a.txt:1:1:needle in a haystack');

    const second = await mcp.ok('workspace_search', { workspace: ws, query: 'haystack', path: home });
    expect(second.ripgrep_installed).toBeUndefined();
    expect(second.total_matches).toBe(1);
    expect((await mcp.ok('workspace_exec', { workspace: ws, cmd: 'command -v rg || echo none' })).stdout).toBe('/usr/local/bin/rg\n');
    await mcp.ok('workspace_delete', { workspace: ws });
  });
});
