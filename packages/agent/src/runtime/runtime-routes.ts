import os from 'node:os';
import { HealthResponse, PROTOCOL_VERSION, RuntimeInfoResponse, RuntimeTargetsResponse } from '@cove/protocol';
import type { Domain } from '../context.js';
import { AGENT_VERSION, CAPABILITIES } from '../version.js';

/** `GET /health`, `GET /runtime`, `GET /runtimes`. */
export const runtimeDomain: Domain = (app, ctx) => {
  app.get(
    '/health',
    { schema: { summary: 'Liveness check (no auth)', response: { 200: HealthResponse } }, config: { public: true } },
    async () => ({ status: 'ok' as const }),
  );

  app.get('/runtime', { schema: { summary: 'What the workspace runs on', response: { 200: RuntimeInfoResponse } } }, async () => ({
    success: true as const,
    os: `${os.type()} ${os.release()}`,
    arch: os.arch(),
    cpus: os.availableParallelism(),
    home: os.homedir(),
    shell: process.env.SHELL ?? '/bin/sh',
    hostname: os.hostname(),
    workdir: ctx.workdir,
    agent_version: AGENT_VERSION,
    protocol_version: PROTOCOL_VERSION,
    capabilities: [...CAPABILITIES],
  }));

  app.get(
    '/runtimes',
    { schema: { summary: 'Runtime targets (only `default`)', response: { 200: RuntimeTargetsResponse } } },
    async () => ({
      success: true as const,
      version: AGENT_VERSION,
      default_target: 'default' as const,
      capabilities: [...CAPABILITIES],
      targets: [{ id: 'default', local: true, available: true, version: AGENT_VERSION, capabilities: [...CAPABILITIES] }],
    }),
  );
};
