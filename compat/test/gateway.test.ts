// The official `oblien` SDK (2.4.0) as a black-box client of Cove's gateway, in front of a real agent:
// `new Runtime({ token: <gateway JWT>, baseUrl: <gateway url> })`.
import path from 'node:path';
import { Runtime } from 'oblien/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from '../../packages/agent/test/helpers/agent.js';
import { startTestGateway, type TestGateway } from '../../packages/gateway/test/helpers/gateway.js';
import { mintToken } from '../../packages/gateway/test/helpers/tokens.js';
import { until } from './helpers/until.js';

let agent: TestAgent;
let gw: TestGateway;
let rt: Runtime;
let agentPort: number;

beforeAll(async () => {
  agent = await startTestAgent();
  // No route cache: each test's change to the store is seen at once.
  gw = await startTestGateway({ routeCacheMs: 0 });
  agentPort = Number(new URL(agent.url).port);
  gw.routes.set({
    workspaceId: 'ws_sdk',
    ip: '127.0.0.1',
    port: agentPort,
    rawToken: agent.token,
    generation: 1,
    enabled: true,
    publicAccess: true,
    running: true,
  });
  rt = new Runtime({ token: await mintToken({ wid: 'ws_sdk', ip: '127.0.0.1', port: agentPort, gen: 1 }), baseUrl: gw.url });
});

afterAll(async () => {
  await gw.close();
  await agent.close();
});

describe('official SDK through the gateway', () => {
  it('health() is true', async () => {
    expect(await rt.health()).toBe(true);
  });

  it('files.write() then files.read()', async () => {
    const written = await rt.files.write({ fullPath: 'sdk/hello.txt', content: 'hi from the sdk\n', createDirs: true });
    expect(written).toMatchObject({ success: true, path: path.join(agent.workdir, 'sdk/hello.txt') });
    const read = await rt.files.read({ filePath: 'sdk/hello.txt' });
    expect(read).toMatchObject({ content: 'hi from the sdk\n' });
  });

  it('files.stream() yields the NDJSON entries', async () => {
    await rt.files.write({ fullPath: 'sdk/tree/a.txt', content: 'a', createDirs: true });
    const names: string[] = [];
    for await (const entry of rt.files.stream({ dirPath: 'sdk/tree' })) names.push((entry as { name: string }).name);
    expect(names).toContain('a.txt');
  });

  it('exec.run() and exec.stream() (SSE)', async () => {
    const task = await rt.exec.run(['sh', '-c', 'echo run-ok']);
    expect(task).toMatchObject({ status: 'exited', exit_code: 0 });
    const events: Array<{ event: string; data?: string; exit_code?: number }> = [];
    for await (const ev of rt.exec.stream(['sh', '-c', 'echo out; exit 3'])) events.push(ev as never);
    expect(events[0]).toMatchObject({ event: 'task_id' });
    const stdout = events
      .filter((e) => e.event === 'stdout')
      .map((e) => Buffer.from(e.data ?? '', 'base64').toString('utf8'))
      .join('');
    expect(stdout).toBe('out\n');
    expect(events.at(-1)).toMatchObject({ event: 'exit', exit_code: 3 });
  });

  it('rt.ws() (token in the query) carries terminal input and output both ways', async () => {
    const term = await rt.terminal.create({ cmd: ['/bin/sh'] });
    const ws = rt.ws({ reconnect: false });
    let output = '';
    const exits = new Map<string, number>();
    const decoder = new TextDecoder();
    ws.onTerminalOutput((id, data) => {
      if (id === term.id) output += decoder.decode(data);
    });
    ws.onTerminalExit((id, code) => exits.set(id, code));
    const opened = new Promise<void>((resolve) => ws.onOpen(() => resolve()));
    ws.connect();
    await opened;
    ws.writeTerminalInput(term.id, 'echo sdk-$((6*7)); exit 5\n');
    await until(() => output.includes('sdk-42'), 'terminal output through the gateway');
    expect(await until(() => exits.get(term.id), 'exit frame')).toBe(5);
    ws.close();
  });

  it('a revoked token (rotation) is refused: the SDK throws', async () => {
    gw.routes.rotate('ws_sdk');
    try {
      await expect(rt.files.read({ filePath: 'sdk/hello.txt' })).rejects.toMatchObject({ status: 401 });
      expect(await rt.health()).toBe(true); // the gateway's health needs no valid token
      const fresh = new Runtime({ token: await mintToken({ wid: 'ws_sdk', ip: '127.0.0.1', port: agentPort, gen: 2 }), baseUrl: gw.url });
      expect(await fresh.files.read({ filePath: 'sdk/hello.txt' })).toMatchObject({ content: 'hi from the sdk\n' });
    } finally {
      gw.routes.update('ws_sdk', { generation: 1 });
    }
  });

  it('a workspace without public_access is refused with 403', async () => {
    gw.routes.update('ws_sdk', { publicAccess: false });
    try {
      await expect(rt.files.read({ filePath: 'sdk/hello.txt' })).rejects.toMatchObject({ status: 403 });
    } finally {
      gw.routes.update('ws_sdk', { publicAccess: true });
    }
  });
});
