// Talking to a sandboxed workspace's agent over its Internal API (the host reaches it with public access on),
// and a musl root with no glibc, for the tests of the agent's runtime and of the image config.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { run } from '../../src/run-command.js';
import { busyboxRoot } from './oci-layout.js';

export interface AgentClient {
  json<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<{ status: number; body: T }>;
  exec(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Runs a program on a terminal until it exits; its output (the scrollback) as text. */
  terminal(body: Record<string, unknown>): Promise<{ status: number; output: string; body: Record<string, unknown> }>;
}

export function agentClient(ip: string, token: string, port = 9990): AgentClient {
  const json = async <T>(method: string, route: string, body?: unknown) => {
    const res = await fetch(`http://${ip}:${port}${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as T };
  };
  return {
    json,
    exec: (body) => json('POST', '/exec', body),
    async terminal(body) {
      const created = await json<Record<string, unknown>>('POST', '/terminals', body);
      if (created.status !== 201) return { status: created.status, output: '', body: created.body };
      const id = String(created.body.id);
      for (let i = 0; i < 500; i++) {
        const list = await json<{ terminals: Array<{ id: string; alive: boolean }> }>('GET', '/terminals');
        if (list.body.terminals.find((t) => t.id === id)?.alive === false) break;
        await delay(20);
      }
      const back = await json<{ scrollback: string }>('GET', `/terminals/${id}/scrollback`);
      await json('DELETE', `/terminals/${id}`);
      return { status: created.status, output: Buffer.from(back.body.scrollback, 'base64').toString('utf8'), body: created.body };
    },
  };
}

/** Why a musl root cannot be made here (no musl-gcc: Debian's musl-tools), or undefined. */
export function muslMissing(): string | undefined {
  return existsSync('/usr/bin/musl-gcc') ? undefined : 'musl-gcc missing (apt-get install musl-tools)';
}

const EXTRA_APPLETS = ['readlink', 'grep', 'ls', 'tty', 'find', 'sort', 'tr', 'cut'];

/**
 * busyboxRoot (Debian's static busybox, root and `app`) plus musl's dynamic loader at /lib/ld-musl-x86_64.so.1,
 * a program compiled against musl (dynamically) at /usr/bin/hello-musl, a group `extra` (2000) with `app` in
 * it, and a few more applets. No glibc: checked, the root holds no `libc.so.6` or `ld-linux*`.
 */
export async function muslRoot(dir: string, work: string): Promise<void> {
  await busyboxRoot(dir);
  for (const a of EXTRA_APPLETS) if (!existsSync(path.join(dir, 'bin', a))) await symlink('busybox', path.join(dir, 'bin', a));
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\napp:x:1000:\nextra:x:2000:app\n');
  await mkdir(path.join(dir, 'lib'), { recursive: true });
  await mkdir(path.join(dir, 'usr/bin'), { recursive: true });
  await copyFile('/lib/ld-musl-x86_64.so.1', path.join(dir, 'lib/ld-musl-x86_64.so.1'));
  await mkdir(work, { recursive: true });
  const source = path.join(work, 'hello.c');
  await writeFile(
    source,
    '#include <stdio.h>\n#include <unistd.h>\nint main(void) { printf("hello from musl, uid %d\\n", (int)getuid()); return 0; }\n',
  );
  await run(['musl-gcc', '-O2', '-o', path.join(dir, 'usr/bin/hello-musl'), source]);
  const glibc = (await listFiles(dir)).filter((f) => /(^|\/)(libc\.so\.6|ld-linux[^/]*)$/.test(f));
  if (glibc.length > 0) throw new Error(`the musl root has glibc files: ${glibc.join(', ')}`);
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) out.push(path.join(e.parentPath, e.name));
  return out;
}
