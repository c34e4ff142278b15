// kill -9 of a workspace's whole container (every process of its cgroup, from the host, as an OOM of the host or
// an operator would) under `cove up` with the sandbox driver: the control plane notices and says so, the gateway
// answers 503 with a code, an open WebSocket and an open SSE stream end instead of hanging, and with restart
// policy `always` the workspace comes back and serves. The container's packets to the host are dropped from just
// before the kill until its streams ended: its FIN and RST never arrive, as when its network goes with it (a
// namespace or link torn down, a host that drops it), so the streams end only because the gateway ends them.
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { run } from '../../../sandbox/src/run-command.js';
import { createWorkspace, execThroughGateway, gatewayToken, runcRoot, skipReason, until, upForSuite } from './cove-up.js';

const SLOT = 98;
const SEVER_TABLE = `cove_test${SLOT}_severed`;
const skip = skipReason();
/** Bound on how long a stream may take to end after its container died: far above the driver's 1 s notice. */
const END_WITHIN_MS = 30_000;
/** The close a WebSocket gets from the gateway when the driver reports its agent dead. */
const AGENT_EXITED = '1011 the workspace agent exited';

describe.skipIf(skip)('kill -9 of a whole workspace container (cove up, sandbox driver)', () => {
  const up = upForSuite(SLOT, () => run(['nft', 'delete', 'table', 'inet', SEVER_TABLE], { allowFailure: true }));

  /** SIGKILL to every process of the container's cgroup at once, with the instance's runc root. */
  async function killContainer(id: string): Promise<void> {
    await run(['runc', '--root', runcRoot(up()), 'kill', '--all', id, 'KILL']);
  }

  /** Runs `fn` while every packet from `ip` to the host is dropped (a table of its own, removed after). */
  async function severed<T>(ip: string, fn: () => Promise<T>): Promise<T> {
    await run(['nft', '-f', '-'], {
      input: `table inet ${SEVER_TABLE} {\n chain input {\n  type filter hook input priority -10;\n  ip saddr ${ip} drop\n }\n}\n`,
    });
    try {
      return await fn();
    } finally {
      await run(['nft', 'delete', 'table', 'inet', SEVER_TABLE]);
    }
  }

  /**
   * An open WebSocket through the gateway, with a promise of its close (code and reason, or 'timeout'). The promise
   * is wrapped: an async function returning a bare promise would wait for it.
   */
  async function openSocket(token: string): Promise<{ closed: Promise<string | 'timeout'> }> {
    const ws = new WebSocket(`${up().gatewayUrl.replace('http', 'ws')}/ws?token=${token}`);
    ws.on('error', () => {});
    // Listening from the start: a close right after the open is not missed.
    const closed = new Promise<string>((resolve) => ws.once('close', (code, reason) => resolve(`${code} ${reason}`)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('close', () => reject(new Error('the WebSocket closed before it opened')));
    });
    return {
      closed: (async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => {
            ws.terminate();
            resolve('timeout');
          }, END_WITHIN_MS);
        });
        try {
          return await Promise.race([closed, timeout]);
        } finally {
          clearTimeout(timer);
        }
      })(),
    };
  }

  /**
   * A long command streamed as SSE through the gateway; resolves once its first event arrived, to a promise of how
   * the stream ended: 'end' (closed by the far side), 'error' (connection cut) or 'timeout' (a hang).
   */
  async function openStream(token: string): Promise<{ ended: Promise<'end' | 'error' | 'timeout'> }> {
    const abort = new AbortController();
    const res = await fetch(`${up().gatewayUrl}/exec/stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ cmd: ['sh', '-c', 'echo started; exec sleep 600'] }),
      signal: AbortSignal.any([abort.signal, AbortSignal.timeout(END_WITHIN_MS * 4)]),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    // Output comes base64 in `stdout` events: the first one means the command runs.
    while (!seen.includes('event: stdout')) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`the stream ended before the command started: ${seen}`);
      seen += Buffer.from(chunk.value).toString();
    }
    return {
      ended: (async () => {
        const timer = setTimeout(() => abort.abort(), END_WITHIN_MS);
        try {
          for (;;) if ((await reader.read()).done) return 'end' as const;
        } catch {
          return abort.signal.aborted ? ('timeout' as const) : ('error' as const);
        } finally {
          clearTimeout(timer);
        }
      })(),
    };
  }

  /**
   * A new workspace that serves, with a WebSocket and an SSE stream open through the gateway, whose container is then
   * killed with its packets to the host dropped; how each stream ended (none may time out).
   */
  async function killedMidStreams(body: object = {}): Promise<{ id: string; token: string; ended: string[] }> {
    const id = await createWorkspace(up(), body);
    const token = await gatewayToken(up(), id);
    expect((await execThroughGateway(up(), token, ['true'])).status).toBe(200);
    const socket = await openSocket(token);
    const stream = await openStream(token);
    const ip = (await up().api('GET', `/workspace/${id}`)).body.workspace.ip;
    const ended = await severed(ip, async () => {
      await killContainer(id);
      return Promise.all([socket.closed, stream.ended]);
    });
    expect(ended, 'WebSocket close code, SSE stream end').not.toContain('timeout');
    return { id, token, ended };
  }

  it('no restart policy: reported stopped by failure; 503 with a code; a WebSocket and an SSE stream end', async () => {
    const { id, token, ended } = await killedMidStreams();
    // The gateway's close frame, saying why (not a bare cut, 1006): the driver's notice ended it, not TCP keepalive.
    expect(ended[0]).toBe(AGENT_EXITED);
    // A stream cut mid-body is a reset, never a clean end that would read as a complete answer.
    expect(ended[1]).toBe('error');

    const seen = new Set<string>();
    await until('the workspace reported stopped', async () => {
      const res = await execThroughGateway(up(), token, ['true']);
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      seen.add(res.body.code);
      return (await up().api('GET', `/workspace/${id}`)).body.workspace.status === 'stopped';
    });
    for (const code of seen) expect(['agent_unavailable', 'service_unavailable']).toContain(code);
    const lifecycle = await up().api('GET', `/workspace/${id}/lifecycle`);
    expect(lifecycle.body).toMatchObject({ stopped_by: 'failure' });
    expect(JSON.stringify(lifecycle.body.events)).toContain('agent_exited');
    // Once known stopped, the gateway keeps answering 503 with a code, and a start runs it again.
    const after = await execThroughGateway(up(), token, ['true']);
    expect(after.status).toBe(503);
    expect(['agent_unavailable', 'service_unavailable']).toContain(after.body.code);
    expect((await up().api('POST', `/workspace/${id}/start`)).status).toBe(200);
    await until('the workspace back', async () => (await execThroughGateway(up(), token, ['echo', 'back'])).body?.stdout === 'back\n');
  }, 120_000);

  it('restart policy always: the workspace comes back and serves; streams opened before end', async () => {
    const { id, token, ended } = await killedMidStreams({ restart_policy: 'always' });
    expect(ended).toEqual([AGENT_EXITED, 'error']);
    await until('the restart', async () => {
      const during = await execThroughGateway(up(), token, ['echo', 'back']);
      if (during.status !== 200) {
        expect(during.status, JSON.stringify(during.body)).toBe(503);
        expect(['agent_unavailable', 'service_unavailable']).toContain(during.body.code);
        return false;
      }
      expect(during.body.stdout).toBe('back\n');
      const lc = await up().api('GET', `/workspace/${id}/lifecycle`);
      return lc.body.restart_info?.count >= 1;
    });
    expect((await up().api('GET', `/workspace/${id}`)).body.workspace.status).toBe('running');
    const lc = await up().api('GET', `/workspace/${id}/lifecycle`);
    const events = JSON.stringify(lc.body.events);
    expect(events).toContain('agent_exited');
    expect(events).toContain('restart');
    // A new WebSocket works on the restarted workspace.
    const again = new WebSocket(`${up().gatewayUrl.replace('http', 'ws')}/ws?token=${token}`);
    await new Promise((resolve, reject) => {
      again.once('open', resolve);
      again.once('error', reject);
    });
    again.close();
  }, 120_000);
});
