import type { Domain } from '../context.js';
import { closesInheritedFds } from './spawn-pty.js';
import { attachTerminalChannel } from './terminal-channel.js';
import { TerminalManager, type TerminalManagerOptions } from './terminal-manager.js';
import { registerTerminalRoutes } from './terminals-routes.js';

export type TerminalsDomainOptions = TerminalManagerOptions;

/** Terminal sessions: REST routes on `/terminals` and their I/O over `/ws`. */
export function createTerminalsDomain(options: TerminalsDomainOptions = {}): Domain {
  return (app, ctx) => {
    const manager = new TerminalManager(ctx.hub, ctx.log, options);
    if (!closesInheritedFds()) ctx.log.warn("neither exec-as nor bash found: terminals may inherit other terminals' PTY fds");
    registerTerminalRoutes(app, ctx, manager);
    attachTerminalChannel(ctx.hub, manager);
    ctx.onClose(() => manager.closeAll());
  };
}

/** The terminals domain with default limits. */
export const terminalsDomain: Domain = createTerminalsDomain();
