import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_DEFAULTS } from '@cove/protocol/defaults';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveSetting, SettingsFiles } from '../src/resolve-setting.js';
import { SETTINGS, type Setting } from '../src/settings.js';
import { COVE_BIN, cleanEnv } from './helpers/stack.js';

const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cove-cli-config-'));
  dirs.push(dir);
  return dir;
}

/** Starts `cove ARGS…`; `output()` is what it printed so far, `exited` its exit code. */
function start(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, [COVE_BIN, ...args], {
    env: { ...cleanEnv(), COVE_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  /** Resolves with the first match of `pattern` in stdout + stderr, or rejects when the process ends first. */
  const waitFor = (pattern: RegExp) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stdout + stderr);
        if (m) resolve(m);
      };
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.on('close', () => reject(new Error(`cove ${args.join(' ')} exited: ${stdout}${stderr}`)));
      check();
    });
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) };
}

async function run(args: string[], env: Record<string, string | undefined> = {}) {
  const p = start(args, env);
  const code = await p.exited;
  return { code, ...p.output() };
}

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the settings resolver: flag > environment > file > default', () => {
  // One setting of each kind: a server's (config.json), a connection's (credentials.json), a list, one with choices.
  const cases: Array<{ name: string; setting: Setting; values: [flag: unknown, env: string, file: unknown]; want: unknown[] }> = [
    {
      name: 'a server setting (config.json)',
      setting: SETTINGS.apiListen,
      values: ['1.1.1.1:1', '2.2.2.2:2', '3.3.3.3:3'],
      want: ['1.1.1.1:1', '2.2.2.2:2', '3.3.3.3:3', SERVER_DEFAULTS.apiListen],
    },
    {
      name: 'a connection setting (credentials.json)',
      setting: SETTINGS.apiUrl,
      values: ['http://flag', 'http://env', 'http://file'],
      want: ['http://flag', 'http://env', 'http://file', `http://${SERVER_DEFAULTS.apiListen}`],
    },
    {
      name: 'a number (written as a number in the file)',
      setting: SETTINGS.warmPool,
      values: ['5', '6', 7],
      want: ['5', '6', '7', String(SERVER_DEFAULTS.warmPool)],
    },
    {
      name: 'a list (commas in the environment, an array in the file)',
      setting: SETTINGS.allowOrigin,
      values: [['https://flag'], 'https://a, https://b', ['https://file']],
      want: [['https://flag'], ['https://a', 'https://b'], ['https://file'], []],
    },
    {
      name: 'a setting with choices',
      setting: SETTINGS.driver,
      values: ['process', 'sandbox', 'process'],
      want: ['process', 'sandbox', 'process', SERVER_DEFAULTS.driver],
    },
  ];

  for (const { name, setting, values, want } of cases) {
    it(name, async () => {
      const dir = await tempDir();
      const file = setting.file === 'credentials' ? 'credentials.json' : 'config.json';
      await writeFile(path.join(dir, file), JSON.stringify({ [setting.key]: values[2] }));
      const files = new SettingsFiles(dir);
      const empty = new SettingsFiles(path.join(dir, 'none'));
      const flag = { value: values[0], name: '--flag' };
      const noFlag = { value: undefined, name: '--flag' };
      const env = { [setting.env]: values[1] };
      const all = resolveSetting(setting, flag, env, files);
      expect([all.value, all.source, all.origin]).toEqual([want[0], 'flag', '--flag']);
      const fromEnv = resolveSetting(setting, noFlag, env, files);
      expect([fromEnv.value, fromEnv.source, fromEnv.origin]).toEqual([want[1], 'env', setting.env]);
      // An empty variable counts as unset.
      const fromFile = resolveSetting(setting, noFlag, { [setting.env]: '' }, files);
      expect([fromFile.value, fromFile.source, fromFile.origin]).toEqual([want[2], 'file', `${setting.key} in ${path.join(dir, file)}`]);
      const byDefault = resolveSetting(setting, noFlag, {}, empty);
      expect([byDefault.value, byDefault.source]).toEqual([want[3], 'default']);
    });
  }

  it('the data directory: flag > environment > ~/.cove (it holds the files, so no file sets it)', () => {
    const flag = { value: '/flag', name: '--data-dir' };
    expect(resolveSetting(SETTINGS.dataDir, flag, { COVE_DATA_DIR: '/env' }, undefined).value).toBe('/flag');
    expect(resolveSetting(SETTINGS.dataDir, undefined, { COVE_DATA_DIR: '/env' }, undefined).value).toBe('/env');
    expect(resolveSetting(SETTINGS.dataDir, undefined, {}, undefined).value).toBe(path.join(os.homedir(), '.cove'));
  });

  it('refuses a value outside the choices, naming where it came from (exit 2)', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ driver: 'docker' }));
    expect(() => resolveSetting(SETTINGS.driver, undefined, { COVE_DRIVER: 'vm' }, undefined)).toThrow(
      "invalid COVE_DRIVER 'vm': expected auto, sandbox, process",
    );
    expect(() => resolveSetting(SETTINGS.driver, undefined, {}, new SettingsFiles(dir))).toThrow(
      `invalid driver in ${path.join(dir, 'config.json')} 'docker': expected auto, sandbox, process`,
    );
  });

  it('says which file is not JSON', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'config.json'), '{ nope');
    expect(() => resolveSetting(SETTINGS.apiListen, undefined, {}, new SettingsFiles(dir))).toThrow(
      `${path.join(dir, 'config.json')} is not valid JSON`,
    );
  });
});

describe('cove --version and --help', () => {
  it('--version prints the CLI package version', async () => {
    const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('../package.json', import.meta.url)), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const res = await run([flag]);
      expect(res).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it("after a command, --version is the command's own (an archive's version), not the CLI's", async () => {
    const home = await tempDir();
    // No server answers: the command ran (exit 3, unreachable) instead of printing the CLI's version.
    const res = await run(['archive', 'create', 'dev', '--version', 'v1', '--api-url', `http://127.0.0.1:${await freePort()}`], {
      HOME: home,
      COVE_CLIENT_ID: 'id',
      COVE_CLIENT_SECRET: 'secret',
    });
    expect(res.stdout).not.toMatch(/^\d+\.\d+\.\d+/);
    expect(res.code).toBe(3);
  });

  it("each flag's help names its environment variable, file key and default", async () => {
    const up = await run(['up', '--help']);
    expect(up.code).toBe(0);
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    expect(flat(up.stdout)).toContain(`(env: COVE_API_LISTEN, config.json: api_listen, default: ${SERVER_DEFAULTS.apiListen})`);
    expect(flat(up.stdout)).toContain(`(env: COVE_GATEWAY_LISTEN, config.json: gateway_listen, default: ${SERVER_DEFAULTS.gatewayListen})`);
    expect(flat(up.stdout)).toContain('(env: COVE_DRIVER, config.json: driver, default: auto)');
    expect(flat(up.stdout)).toContain(`(env: COVE_DATA_DIR, default: ${path.join(os.homedir(), '.cove')})`);
    // `cove api --listen` and `cove gateway --listen` are `cove up`'s two addresses, spelled shorter.
    const api = await run(['api', '--help']);
    expect(flat(api.stdout)).toMatch(
      new RegExp(`--listen <host:port> .*\\(env: COVE_API_LISTEN, config.json: api_listen, default: ${SERVER_DEFAULTS.apiListen}\\)`),
    );
    const gateway = await run(['gateway', '--help']);
    expect(flat(gateway.stdout)).toMatch(
      new RegExp(
        `--listen <host:port> .*\\(env: COVE_GATEWAY_LISTEN, config.json: gateway_listen, default: ${SERVER_DEFAULTS.gatewayListen}\\)`,
      ),
    );
    const exec = await run(['exec', '--help']);
    expect(flat(exec.stdout)).toContain(`(env: COVE_API_URL, credentials.json: api_url, default: http://${SERVER_DEFAULTS.apiListen})`);
    expect(flat(exec.stdout)).toContain('(env: COVE_CLIENT_SECRET, credentials.json: client_secret)');
  });

  it('the root help lists every command without loading it, and `cove help CMD` shows its own help', async () => {
    const root = await run(['--help']);
    expect(root.code).toBe(0);
    for (const name of ['up', 'agent', 'api', 'gateway', 'ws|workspace', 'exec <workspace> <command...>', 'cp <source> <destination>']) {
      expect(root.stdout).toContain(`  ${name} `);
    }
    const help = await run(['help', 'exec']);
    expect(help.stdout).toContain('Usage: cove exec [options] <workspace> <command...>');
  });
});

describe('cove up, cove api and cove gateway read the same settings', () => {
  it('cove up honours COVE_API_LISTEN, COVE_GATEWAY_LISTEN and COVE_DRIVER', async () => {
    const dataDir = await tempDir();
    const [apiPort, gatewayPort] = [await freePort(), await freePort()];
    const up = start(['up'], {
      COVE_DATA_DIR: dataDir,
      COVE_API_LISTEN: `127.0.0.1:${apiPort}`,
      COVE_GATEWAY_LISTEN: `127.0.0.1:${gatewayPort}`,
      COVE_DRIVER: 'process',
    });
    const m = await up.waitFor(/cove up: control plane (\S+), gateway (\S+), driver (\w+), data (\S+)\n/);
    expect(m.slice(1)).toEqual([`http://127.0.0.1:${apiPort}`, `http://127.0.0.1:${gatewayPort}`, 'process', dataDir]);
    const res = await fetch(`http://127.0.0.1:${apiPort}/health`);
    expect(res.status).toBe(200);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
  });

  it('cove up: a flag beats the environment, which beats config.json', async () => {
    const dataDir = await tempDir();
    const filePort = await freePort();
    await writeFile(path.join(dataDir, 'config.json'), JSON.stringify({ api_listen: `127.0.0.1:${filePort}`, driver: 'sandbox' }));
    // The flag wins over a bad environment value; the file gives the address nothing else gives.
    const up = start(['up', '--driver', 'process', '--gateway-listen', '127.0.0.1:0'], {
      COVE_DATA_DIR: dataDir,
      COVE_DRIVER: 'bogus',
    });
    const m = await up.waitFor(/cove up: control plane (\S+), gateway \S+, driver (\w+)/);
    expect(m.slice(1)).toEqual([`http://127.0.0.1:${filePort}`, 'process']);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    // Without the flag, the environment's bad value is refused, named.
    const refused = await run(['up'], { COVE_DATA_DIR: dataDir, COVE_DRIVER: 'bogus' });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe("cove: invalid COVE_DRIVER 'bogus': expected auto, sandbox, process\n");
  });

  // Both accept either outcome: listening there, or finding the port taken; each names the address it tried.
  it('cove api listens where cove up puts the control plane by default', async () => {
    const dataDir = await tempDir();
    const api = start(['api'], { COVE_DATA_DIR: dataDir, COVE_DRIVER: 'process' });
    const m = await api.waitFor(/ready on (http:\/\/\S+)|cannot listen on (\S+):/);
    expect(m[1] ?? `http://${m[2]}`).toBe(`http://${SERVER_DEFAULTS.apiListen}`);
  });

  it('cove gateway listens where cove up puts the gateway by default', async () => {
    const dataDir = await tempDir();
    const gateway = start(['gateway'], { COVE_DATA_DIR: dataDir });
    const m = await gateway.waitFor(/ready on (http:\/\/\S+)|cannot listen on (\S+):/);
    expect(m[1] ?? `http://${m[2]}`).toBe(`http://${SERVER_DEFAULTS.gatewayListen}`);
  });
});

describe('public port URLs', () => {
  it('cove api builds them from --preview-domain and gateway_url in config.json', async () => {
    const dataDir = await tempDir();
    await writeFile(path.join(dataDir, 'config.json'), JSON.stringify({ gateway_url: 'https://gw.example.com', driver: 'process' }));
    const issued = await run(['api', 'credentials', 'create', '--json'], { COVE_DATA_DIR: dataDir });
    expect(issued.code).toBe(0);
    const { client_id, client_secret } = JSON.parse(issued.stdout);
    const api = start(['api', '--listen', '127.0.0.1:0', '--preview-domain', 'Preview.Example.com'], { COVE_DATA_DIR: dataDir });
    const url = (await api.waitFor(/ready on (http:\/\/\S+)/))[1];
    const headers = { 'x-client-id': client_id, 'x-client-secret': client_secret, 'content-type': 'application/json' };
    const ws = (await (await fetch(`${url}/workspace`, { method: 'POST', headers, body: '{}' })).json()) as { workspace: { id: string } };
    const res = await fetch(`${url}/workspace/${ws.workspace.id}/public-access`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ port: 3000, slug: 'cfg-app' }),
    });
    expect(((await res.json()) as { port: unknown }).port).toMatchObject({
      url: 'https://cfg-app.preview.example.com/',
      domain: 'preview.example.com',
    });
    api.child.kill('SIGTERM');
    expect(await api.exited).toBe(0);
  });

  it('an invalid preview domain stops cove api before it listens', async () => {
    const dataDir = await tempDir();
    const res = await run(['api', '--listen', '127.0.0.1:0', '--driver', 'process', '--preview-domain', 'not a domain'], {
      COVE_DATA_DIR: dataDir,
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/invalid preview domain 'not a domain'/);
  });
});

describe('the command registry', () => {
  it("lists each command as the command itself describes it (the root help shows the registry's lines)", async () => {
    const { COMMANDS } = await import('../src/command-registry.js');
    for (const entry of COMMANDS) {
      const command = await entry.load();
      const args = command.registeredArguments.map((a) => {
        const name = `${a.name()}${a.variadic ? '...' : ''}`;
        return a.required ? `<${name}>` : `[${name}]`;
      });
      expect({ name: command.name(), aliases: command.aliases(), args: args.join(' '), summary: command.description() }).toEqual({
        name: entry.name,
        aliases: entry.aliases ?? [],
        args: entry.args ?? '',
        summary: entry.summary,
      });
    }
  });
});
