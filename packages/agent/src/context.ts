// Route schemas may carry @fastify/swagger's options (`hide`, `tags`): load its type augmentation.
import type {} from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { Logger } from 'pino';
import type { TokenStore } from './auth/token-store.js';
import type { ProcessDefaults } from './identity/process-defaults.js';
import type { WsHub } from './ws/hub.js';

/** The Fastify instance every domain registers its routes on (TypeBox-typed). */
export type AgentApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** What a domain (files, search, exec, terminals, watchers) gets from the agent. */
export interface AgentContext {
  /** Directory relative paths resolve against, and where commands start. */
  readonly workdir: string;
  /**
   * The agent's own directory (workload definitions, logs, its control socket): on the workspace's disk, so it
   * survives restarts, and readable by root only.
   */
  readonly stateDir: string;
  /** No state directory was given: `stateDir` is a temporary one, made only when a workload needs it. */
  readonly stateIsTemporary: boolean;
  /** The environment and user commands and terminals start with unless a request says otherwise. */
  readonly processes: ProcessDefaults;
  readonly tokens: TokenStore;
  readonly log: Logger;
  /** The multiplexed `/ws` WebSocket. */
  readonly hub: WsHub;
  /** Registers cleanup to run when the agent closes (kill processes, stop watchers). */
  onClose(fn: () => void | Promise<void>): void;
}

/** A domain: registers its routes and services on the agent. */
export type Domain = (app: AgentApp, ctx: AgentContext) => void | Promise<void>;
