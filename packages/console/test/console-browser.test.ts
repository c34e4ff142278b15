// The web console end to end: a real `cove up` (process driver) on free ports, and headless Chromium (Debian's,
// through playwright-core) driving the console as a person would — signing in with the keyboard, creating a
// workspace, a terminal (`echo hello`), a file made in the tree and read back with exec, a watcher event for a
// change made elsewhere, stats, ports, power buttons, delete, sign-out. Every page is watched for console errors
// and uncaught exceptions; screenshots of the main views are written to a folder whose path is printed.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Oblien } from '@cove/sdk';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DriverVariant, driverVariants, startTestStack, type TestStack } from '../../api/test/helpers/driver-stack.js';
import { COVE_BIN, cleanEnv } from '../../cli/test/helpers/stack.js';

const CHROMIUM = process.env.COVE_CHROMIUM ?? '/usr/bin/chromium';
/** The sandbox stack's subnet slot (10.85.<slot>.0/24): one per test file. */
const SLOT = 83;
const sandbox = driverVariants().find((v) => v.kind === 'sandbox') as DriverVariant;
/** Where the screenshots go (overwritten by each run). */
const ARTIFACTS = process.env.COVE_TEST_ARTIFACTS ?? path.join(os.tmpdir(), 'cove-test-artifacts', 'console');

let dataDir: string;
let up: ChildProcess;
let apiUrl: string;
let creds: { client_id: string; client_secret: string; api_url: string; gateway_url: string };
let client: Oblien;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every console error and uncaught exception of every page, with the page's address. */
const problems: string[] = [];

async function shot(name: string, on: Page = page): Promise<void> {
  await on.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Records every console error and uncaught exception of the context's pages in `problems`. */
function watch(on: BrowserContext): void {
  on.on('page', (p) => {
    p.on('console', (message) => {
      if (message.type() === 'error') problems.push(`${p.url()}: console error: ${message.text()}`);
    });
    p.on('pageerror', (error) => problems.push(`${p.url()}: uncaught: ${error.message}`));
  });
}

/** The focused element's name attribute, or a button's text. */
async function focusedName(): Promise<string | null> {
  return (await page.evaluate("document.activeElement?.getAttribute('name') ?? document.activeElement?.textContent ?? null")) as
    | string
    | null;
}

/** The terminal's rows as text (xterm's DOM renderer draws each row as a div of spans). */
async function terminalRows(): Promise<string[]> {
  return page.locator('.xterm-rows > div').allTextContents();
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'cove-console-'));
  up = spawn(
    process.execPath,
    [COVE_BIN, 'up', '--driver', 'process', '--data-dir', dataDir, '--api-listen', '127.0.0.1:0', '--gateway-listen', '127.0.0.1:0'],
    { env: { ...cleanEnv(), COVE_LOG_LEVEL: 'warn' } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  await new Promise<void>((resolve, reject) => {
    up.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    up.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/cove up: control plane/.test(out)) resolve();
    });
    up.on('exit', (code) => reject(new Error(`cove up exited ${code}: ${out}`)));
  });
  creds = JSON.parse(await readFile(path.join(dataDir, 'credentials.json'), 'utf8'));
  apiUrl = creds.api_url;
  client = new Oblien({
    clientId: creds.client_id,
    clientSecret: creds.client_secret,
    baseURL: creds.api_url,
    gatewayURL: creds.gateway_url,
  });

  await rm(ARTIFACTS, { recursive: true, force: true });
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  watch(context);
  page = await context.newPage();
  // Delete asks first; the test answers yes.
  page.on('dialog', (dialog) => dialog.accept());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (up && up.exitCode === null) {
    up.kill('SIGTERM');
    await once(up, 'exit');
  }
  await rm(dataDir, { recursive: true, force: true });
  process.stdout.write(`console screenshots: ${ARTIFACTS}\n`);
}, 60_000);

describe('the web console', () => {
  it('a signed-out visitor gets the sign-in form, without console errors', { timeout: 60_000 }, async () => {
    await page.goto(`${apiUrl}/console`);
    expect(page.url()).toBe(`${apiUrl}/console/`);
    await page.getByRole('heading', { name: 'Cove console' }).waitFor();
    expect(await page.getByLabel('Client id').isVisible()).toBe(true);
    await shot('01-sign-in');
    expect(problems).toEqual([]);
  });

  it('signs in with the keyboard only; the secret stays out of the page’s storage and cookies', { timeout: 60_000 }, async () => {
    // Focus order: the id, the secret, the button.
    await page.keyboard.press('Tab');
    expect(await focusedName()).toBe('client_id');
    await page.keyboard.type(creds.client_id);
    await page.keyboard.press('Tab');
    expect(await focusedName()).toBe('client_secret');
    await page.keyboard.press('Tab');
    expect(await focusedName()).toBe('Sign in');
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.type(creds.client_secret);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
    expect(await page.getByText('Signed in as').textContent()).toContain('default');

    // Expressions, not functions: this file is type-checked without the DOM's types.
    const stored = (await page.evaluate(`({
      cookie: document.cookie,
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      secretField: document.querySelector('input[name=client_secret]') !== null,
    })`)) as { cookie: string; local: string; session: string; secretField: boolean };
    expect(stored.cookie).not.toContain('cove_console');
    expect(stored.local).not.toContain(creds.client_secret);
    expect(stored.session).not.toContain(creds.client_secret);
    expect(stored.secretField).toBe(false);
    const cookie = (await context.cookies()).find((c) => c.name === 'cove_console');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
  });

  let id: string;
  it('creates a workspace from the form (image picker, limits) and shows it', { timeout: 120_000 }, async () => {
    const picker = page.getByLabel('Image');
    await picker.waitFor();
    expect(await picker.locator('option').count()).toBeGreaterThan(0);
    await page.getByLabel('Name').fill('console-e2e');
    await page.getByLabel('Memory (MiB)').fill('512');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL(/#\/w\/ws_/);
    id = decodeURIComponent(page.url().split('#/w/')[1] as string);
    await page.getByRole('heading', { name: /console-e2e/ }).waitFor();
    await page.locator('.status-running').first().waitFor();
    expect(await page.getByText('512 MiB', { exact: false }).first().textContent()).toContain('512 MiB');
    await page.getByRole('checkbox', { name: /Gateway access/ }).waitFor();
    expect(await page.getByRole('checkbox', { name: /Gateway access/ }).isChecked()).toBe(true);
    await shot('02-workspace-overview');
  });

  it('opens a terminal, types `echo hello` and sees hello; the screen survives a reconnect', { timeout: 90_000 }, async () => {
    await page.getByRole('link', { name: 'Terminal' }).click();
    await page.getByText('Connected', { exact: true }).waitFor();
    await page.locator('.xterm').click();
    await page.keyboard.type('echo hello\n');
    await expect.poll(async () => (await terminalRows()).some((row) => row.trim() === 'hello'), { timeout: 30_000 }).toBe(true);
    await shot('03-terminal');

    // A new socket: the agent replays the scrollback, which redraws the screen.
    await page.getByRole('button', { name: 'Reconnect' }).click();
    await page.getByText('Connected', { exact: true }).waitFor();
    // The replay redraws the screen: once it settles, hello is there exactly once.
    await expect.poll(async () => (await terminalRows()).filter((row) => row.trim() === 'hello').length, { timeout: 30_000 }).toBe(1);

    // A reload reattaches to the same shell, whose scrollback comes back.
    await page.reload();
    await page.getByText('Connected', { exact: true }).waitFor();
    await expect.poll(async () => (await terminalRows()).filter((row) => row.trim() === 'hello').length, { timeout: 30_000 }).toBe(1);

    // Screen-reader mode: xterm's accessibility tree carries the text.
    await page.getByLabel('Screen reader mode').check();
    await expect
      .poll(async () => (await page.locator('.xterm-accessibility-tree').textContent()) ?? '', { timeout: 10_000 })
      .toContain('hello');

    // Resize: a narrower window gives the PTY fewer columns.
    const columns = async (): Promise<number> => {
      await page.locator('.xterm').click();
      await page.keyboard.type('clear; stty size\n');
      let size: string | undefined;
      await expect
        .poll(
          async () => {
            size = (await terminalRows()).map((r) => r.trim()).find((r) => /^\d+ \d+$/.test(r));
            return size;
          },
          { timeout: 30_000 },
        )
        .toMatch(/^\d+ \d+$/);
      return Number(size?.split(' ')[1]);
    };
    const wide = await columns();
    await page.setViewportSize({ width: 700, height: 900 });
    await expect.poll(columns, { timeout: 30_000 }).toBeLessThan(wide);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  let root: string;
  it('creates a file in the tree, edits it, and reads it back with exec', { timeout: 90_000 }, async () => {
    await page.getByRole('link', { name: 'Files' }).click();
    const rootText = await page.locator('.tree-column h2 .muted').textContent();
    root = (rootText ?? '').trim();
    expect(root).toMatch(/^\//);
    await page.getByLabel('New file').fill('from-console.txt');
    await page.getByRole('button', { name: 'Create file' }).click();
    const editor = page.locator('#editor-text');
    await editor.waitFor();
    await editor.fill('written in the console\n');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText(/^Saved \(23 bytes\)\.$/).waitFor();
    await page.getByRole('button', { name: 'from-console.txt' }).waitFor();

    await page.getByRole('link', { name: 'Exec' }).click();
    await page.getByLabel('Command').fill(`cat ${root}/from-console.txt`);
    await page.getByRole('button', { name: 'Run' }).click();
    await expect
      .poll(async () => page.locator('.runs pre.stdout').first().textContent(), { timeout: 30_000 })
      .toBe('written in the console\n');
    // The history: the workspace's task list has the command.
    await page
      .locator('.tasks code', { hasText: `cat ${root}/from-console.txt` })
      .first()
      .waitFor();
    await shot('05-exec');
  });

  it('shows a watcher event when a file changes elsewhere', { timeout: 60_000 }, async () => {
    await page.getByRole('link', { name: 'Files' }).click();
    await page.getByText(/^Watching /).waitFor();
    const rt = await client.workspaces.runtime(id);
    await rt.files.write({ fullPath: `${root}/changed-elsewhere.txt`, content: 'x' });
    await page.locator('.events li', { hasText: 'changed-elsewhere.txt' }).first().waitFor({ timeout: 30_000 });
    // The tree catches up with the change too.
    await page.getByRole('button', { name: 'changed-elsewhere.txt' }).waitFor();
    await page.getByRole('button', { name: 'from-console.txt' }).click();
    await expect.poll(async () => page.locator('#editor-text').inputValue()).toBe('written in the console\n');
    await shot('04-files');
  });

  it('shows stats, exposes a port with its URL and revokes it', { timeout: 60_000 }, async () => {
    await page.getByRole('link', { name: 'Stats' }).click();
    await page.locator('[data-stat=cpu]').waitFor();
    expect(await page.locator('[data-stat=memory]').textContent()).toMatch(/B/);
    await shot('06-stats');

    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByLabel('Port', { exact: true }).fill('8080');
    await page.getByRole('button', { name: 'Expose' }).click();
    const link = page.locator('a[href*=".localhost:"]');
    await link.first().waitFor();
    expect(await link.first().getAttribute('href')).toMatch(/^http:\/\/[a-z0-9-]+\.localhost:\d+\/$/);
    await shot('07-network');
    await page.getByRole('button', { name: 'Revoke port 8080' }).click();
    await page.getByText('No port is exposed.').waitFor();
  });

  it('follows the boot and command logs live', { timeout: 90_000 }, async () => {
    await page.getByRole('link', { name: 'Logs' }).click();
    // The command log, chosen with the keyboard: arrow keys move between the radio buttons.
    await page.getByRole('radio', { name: 'Boot log' }).focus();
    await page.keyboard.press('ArrowRight');
    expect(await page.getByRole('radio', { name: 'Command log' }).isChecked()).toBe(true);
    await page.getByText('Following', { exact: true }).waitFor();
    await page
      .locator('.log-lines li', { hasText: `cat ${root}/from-console.txt` })
      .first()
      .waitFor({ timeout: 30_000 });

    // A command run elsewhere shows up while the view follows, its output folded under it.
    const rt = await client.workspaces.runtime(id);
    await rt.exec.run(['/bin/sh', '-c', 'echo followed-live; exit 3']);
    const record = page.locator('.log-lines li', { hasText: 'followed-live' }).last();
    await record.waitFor({ timeout: 30_000 });
    await record.locator('summary').click();
    expect(await record.locator('pre.stdout').textContent()).toBe('followed-live\n');
    expect(await record.locator('summary').textContent()).toContain('exit 3');
    await shot('10-logs');

    // The boot log shows what the API has of it (this run's agent logs little: the log level is warn).
    const boot = (await client.workspaces.logs.get(id, { source: 'boot' })).logs;
    await page.getByRole('radio', { name: 'Boot log' }).check();
    if (boot.length === 0) await page.getByText('The boot log is empty.').waitFor({ timeout: 30_000 });
    else
      await page
        .locator('.log-lines li', { hasText: String(boot[0]?.message) })
        .first()
        .waitFor({ timeout: 30_000 });
  });

  it('runs a workload, shows its output, stops and starts it', { timeout: 90_000 }, async () => {
    await page.getByRole('link', { name: 'Workloads' }).click();
    await page.getByText(/^No workloads\./).waitFor();
    await page.getByLabel('Workload name').fill('ticker');
    await page.getByLabel('Workload command').fill('echo ticker up; while true; do echo tick; sleep 1; done');
    await page.getByLabel('Workload command').press('Enter');
    const row = page.locator('tr[data-workload="ticker"]');
    await row.locator('.status-running').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Output of workload ticker' }).click();
    await expect.poll(async () => page.locator('.workload-output').textContent(), { timeout: 30_000 }).toContain('ticker up\ntick\n');
    await shot('11-workloads');

    await page.getByRole('button', { name: 'Stop workload ticker' }).click();
    await row.locator('.status-stopped').waitFor({ timeout: 30_000 });
    expect((await client.workspaces.workloads.get(id, 'ticker')).status).toBe('stopped');
    await page.getByRole('button', { name: 'Start workload ticker' }).click();
    await row.locator('.status-running').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Remove workload ticker' }).click();
    await row.waitFor({ state: 'detached' });
    expect(await client.workspaces.workloads.list(id)).toEqual([]);
  });

  it('shows the lifecycle and sets a TTL and an idle policy', { timeout: 60_000 }, async () => {
    await page.getByRole('link', { name: 'Lifecycle' }).click();
    await expect.poll(async () => page.locator('[data-lifecycle=mode]').textContent()).toBe('permanent');
    expect(await page.locator('[data-lifecycle=ttl]').textContent()).toBe('none (lives until deleted)');

    // Keyboard only: the TTL field, a new value, Enter.
    await page.getByLabel('TTL', { exact: true }).focus();
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('2h');
    await page.keyboard.press('Enter');
    await page.getByText('The workspace now lives 2h, then stop.').waitFor();
    await expect.poll(async () => page.locator('[data-lifecycle=ttl]').textContent()).toMatch(/^2 h, then stop — in 1 h 59 min \(/);
    const lc = await client.workspaces.lifecycle.get(id);
    expect(lc).toMatchObject({ mode: 'temporary', ttl: 7200, ttl_action: 'stop' });

    await page.getByLabel('Suspend when idle for').fill('10m');
    await page.getByLabel('Then stop after').fill('1h');
    await page.getByRole('button', { name: 'Set idle policy' }).click();
    await expect.poll(async () => page.locator('[data-lifecycle=idle]').textContent()).toBe('suspend after 10 min, stop 1 h later');
    await page.getByRole('link', { name: 'Overview' }).click();
    expect(await page.getByText(/^stop at /).count()).toBe(1);
    await page.getByRole('link', { name: 'Lifecycle' }).click();
    await shot('12-lifecycle');

    // Back to how it was, so the rest of the run is not timed.
    await page.getByLabel('Suspend when idle for').fill('');
    await page.getByLabel('Then stop after').fill('');
    await page.getByRole('button', { name: 'Set idle policy' }).click();
    await expect.poll(async () => page.locator('[data-lifecycle=idle]').textContent()).toBe('keeps running');
    await page.getByRole('button', { name: 'Make permanent' }).click();
    await expect.poll(async () => page.locator('[data-lifecycle=mode]').textContent()).toBe('permanent');
    expect((await client.workspaces.lifecycle.get(id)).mode).toBe('permanent');
  });

  it('stops, starts, pauses, resumes and deletes from the list', { timeout: 120_000 }, async () => {
    await page.getByRole('link', { name: 'Workspaces' }).click();
    const row = page.locator(`tr[data-workspace="${id}"]`);
    await row.locator('.status-running').waitFor();
    await shot('08-workspaces');
    await page.getByRole('button', { name: 'Pause console-e2e' }).click();
    await row.locator('.status-paused').waitFor();
    await page.getByRole('button', { name: 'Resume console-e2e' }).click();
    await row.locator('.status-running').waitFor();
    await page.getByRole('button', { name: 'Stop console-e2e' }).click();
    await row.locator('.status-stopped').waitFor();
    await page.getByRole('button', { name: 'Start console-e2e' }).click();
    await row.locator('.status-running').waitFor();

    const doomed = await client.workspaces.create({ name: 'doomed' });
    await page.locator(`tr[data-workspace="${doomed.id}"]`).waitFor();
    await page.getByRole('button', { name: 'Delete doomed' }).click();
    await page.locator(`tr[data-workspace="${doomed.id}"]`).waitFor({ state: 'detached' });
    await expect(client.workspaces.get(doomed.id)).rejects.toThrow();
  });

  it('signs out; the old session is refused and the page asks to sign in again', { timeout: 60_000 }, async () => {
    const before = await context.request.get(`${apiUrl}/workspace`, { headers: { 'x-cove-console': '1' } });
    expect(before.status()).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Client id').waitFor();
    const after = await context.request.get(`${apiUrl}/workspace`, { headers: { 'x-cove-console': '1' } });
    expect(after.status()).toBe(401);
    expect(await (await context.request.get(`${apiUrl}/console/api/session`)).json()).toEqual({ signed_in: false });
    // A reload stays signed out.
    await page.reload();
    await page.getByLabel('Client id').waitFor();
    await shot('09-signed-out');
  });

  it('logged no console error and no uncaught exception on any page', () => {
    expect(problems).toEqual([]);
  });
});

// Snapshots, restores and forks need a driver with them: the sandbox's (its disks in an XFS pool, cloned in
// constant time). A control plane of its own on that driver, the same browser, the same console.
describe.skipIf(sandbox.skip)(`the web console: snapshots and forks (${sandbox.title})`, () => {
  let t: TestStack;
  let sandboxContext: BrowserContext;
  let p: Page;
  let sdk: Oblien;
  const questions: string[] = [];

  beforeAll(async () => {
    t = await startTestStack('sandbox', SLOT);
    sdk = new Oblien({ ...t.client, baseURL: t.url, gatewayURL: t.gatewayURL });
    sandboxContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    watch(sandboxContext);
    p = await sandboxContext.newPage();
    // Every action here asks first; the test reads the question and answers yes.
    p.on('dialog', (dialog) => {
      questions.push(dialog.message());
      dialog.accept();
    });
  }, 300_000);
  afterAll(async () => {
    await sandboxContext?.close();
    await t?.close();
  }, 120_000);

  it('takes a snapshot, restores it and forks the workspace, each confirmed', { timeout: 300_000 }, async () => {
    const ws = await sdk.workspaces.create({ name: 'console-snap', image: 'host', memoryMb: 512, diskSizeMb: 256 });
    await sdk.workspaces.network.update(ws.id, { public_access: true });
    const write = async (text: string) =>
      (await sdk.workspaces.runtime(ws.id)).files.write({ fullPath: '/work/state.txt', content: text, createDirs: true });
    const read = async (id: string) =>
      (await (await sdk.workspaces.runtime(id, { force: true })).exec.run(['cat', '/work/state.txt'])).stdout;
    await write('one\n');

    await p.goto(`${t.url}/console/`);
    await p.getByLabel('Client id').fill(t.client.clientId);
    await p.getByLabel('Client secret').fill(t.client.clientSecret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { name: 'Workspaces' }).waitFor();
    await p.goto(`${t.url}/console/#/w/${ws.id}/snapshots`);
    await expect.poll(async () => p.locator('[data-snapshot]').textContent(), { timeout: 30_000 }).toBe('none');
    expect(await p.getByRole('button', { name: 'Restore snapshot' }).isDisabled()).toBe(true);

    await p.getByRole('button', { name: 'Take snapshot' }).click();
    await p.getByText(/^Snapshot taken at /).waitFor({ timeout: 60_000 });
    expect(questions.at(-1)).toBe('Take a snapshot of console-snap? It replaces the previous one.');
    expect(await p.locator('[data-snapshot]').textContent()).toMatch(/MiB of its own disk/);

    await write('two\n');
    await p.getByRole('button', { name: 'Restore snapshot' }).click();
    await p.getByText(/^Restored to the snapshot of /).waitFor({ timeout: 120_000 });
    expect(questions.at(-1)).toMatch(
      /^Restore console-snap to its snapshot of .*\? Every change since is lost and the workspace restarts\.$/,
    );
    expect(await read(ws.id)).toBe('one\n');

    // The keyboard: the fork form's fields, then Enter.
    await p.getByLabel('Fork name').fill('console-fork');
    await p.getByLabel('Copies').focus();
    await p.keyboard.press('ControlOrMeta+a');
    await p.keyboard.type('2');
    await p.keyboard.press('Enter');
    await p.getByText('Forked into console-fork-1, console-fork-2.').waitFor({ timeout: 120_000 });
    expect(questions.at(-1)).toBe('Fork console-snap into 2 new workspaces with its files as they are now?');
    const forks = p.getByRole('list', { name: 'Forks' }).getByRole('link');
    expect(await forks.allTextContents()).toEqual(['console-fork-1', 'console-fork-2']);
    await shot('13-snapshots', p);

    const { workspaces } = await sdk.workspaces.list({ limit: 100 });
    const children = workspaces.filter((w) => w.name?.startsWith('console-fork-'));
    expect(children.map((c) => c.name).sort()).toEqual(['console-fork-1', 'console-fork-2']);
    expect(await read(children[0]?.id as string)).toBe('one\n');

    // A fork's link opens it.
    await forks.first().click();
    await p.getByRole('heading', { name: /console-fork-1/ }).waitFor();
    expect(questions).toHaveLength(3);
  });

  it('logged no console error and no uncaught exception', () => {
    expect(problems).toEqual([]);
  });
});
