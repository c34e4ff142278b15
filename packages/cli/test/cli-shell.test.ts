// `cove shell` in a real pseudo-terminal (tmux): typing, resizing, the exit code, and the local terminal restored.
import { execFileSync } from 'node:child_process';
import { Oblien } from '@cove/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVE_BIN, type Stack, startStack } from './helpers/stack.js';

let stack: Stack;
let ws: string;
const socket = `cove-cli-test-${process.pid}`;

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
}

function pane(): string {
  return tmux('capture-pane', '-p', '-t', 'shell');
}

/** Polls the pane until `test` holds (tmux gives no event to wait on); gives up after 20 s with the pane in the error. */
async function waitForPane(test: (text: string) => boolean, what: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const text = pane();
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; the pane shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

beforeAll(async () => {
  stack = await startStack();
  const created = await stack.run(['ws', 'create', '--name', 'cli-shell', '--public-access', '--json']);
  if (created.code !== 0) throw new Error(`create failed: ${created.stderr}`);
  ws = JSON.parse(created.stdout.toString()).id;
});
afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // Not started, or already gone.
  }
  await stack?.close();
});

describe('cove shell', () => {
  it('types, resizes, exits with the shell code and restores the terminal', { timeout: 120_000 }, async () => {
    const env = Object.entries(stack.env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ');
    // After cove returns, the local shell prints its status and the terminal's line discipline settings.
    const script = `env ${env} ${quote(process.execPath)} ${quote(COVE_BIN)} shell ${ws}; echo "EXIT=$?"; stty -a | tr ' ;' '\\n\\n' | grep -E -x -- '-?(icanon|echo)' | tr '\\n' ' '; echo; sleep 600`;
    tmux('new-session', '-d', '-s', 'shell', '-x', '100', '-y', '30', script);

    tmux('send-keys', '-t', 'shell', 'echo typed-$((6*7))', 'Enter');
    await waitForPane((t) => /^typed-42$/m.test(t), 'the command output');

    tmux('send-keys', '-t', 'shell', 'stty size', 'Enter');
    await waitForPane((t) => /^30 100$/m.test(t), 'the first size');

    tmux('resize-window', '-t', 'shell', '-x', '120', '-y', '40');
    // The resize reaches the remote terminal asynchronously: ask until it reports the new size.
    await waitForPane((t) => {
      if (/^40 120$/m.test(t)) return true;
      tmux('send-keys', '-t', 'shell', 'stty size', 'Enter');
      return false;
    }, 'the new size');

    tmux('send-keys', '-t', 'shell', 'exit 3', 'Enter');
    const after = await waitForPane((t) => /^EXIT=\d+$/m.test(t) && /icanon/.test(t.split(/^EXIT=/m)[1] ?? ''), 'the exit');
    expect(after).toMatch(/^EXIT=3$/m);
    const settings = after.split(/^EXIT=3$/m)[1] ?? '';
    // Raw mode is off again: canonical input and echo are back.
    expect(settings).toMatch(/(^|\s)icanon(\s|$)/);
    expect(settings).toMatch(/(^|\s)echo(\s|$)/);
    expect(settings).not.toMatch(/-icanon|-echo(\s|$)/);

    // The exited session was closed, not left listed.
    const client = new Oblien({
      baseURL: stack.apiUrl,
      gatewayURL: stack.gatewayUrl,
      clientId: stack.clientId,
      clientSecret: stack.clientSecret,
    });
    const rt = await client.workspaces.runtime(ws);
    expect(await rt.terminal.list()).toEqual([]);
  });

  it('a workspace that does not exist is exit 255 and leaves the terminal as it was', { timeout: 60_000 }, async () => {
    tmux('kill-session', '-t', 'shell');
    const env = Object.entries(stack.env)
      .map(([k, v]) => `${k}=${quote(v)}`)
      .join(' ');
    const script = `env ${env} ${quote(process.execPath)} ${quote(COVE_BIN)} shell no-such-ws; echo "EXIT=$?"; stty -a | tr ' ;' '\\n\\n' | grep -E -x -- '-?icanon'; sleep 600`;
    tmux('new-session', '-d', '-s', 'shell', '-x', '100', '-y', '30', script);
    const text = await waitForPane((t) => /^EXIT=\d+$/m.test(t) && /icanon/.test(t), 'the exit');
    expect(text).toContain("cove: no workspace with id or name 'no-such-ws'");
    expect(text).toMatch(/^EXIT=255$/m);
    expect(text).toMatch(/^icanon$/m);
  });
});
