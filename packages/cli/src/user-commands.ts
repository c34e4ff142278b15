import type { Command } from 'commander';
import { accessCommand } from './commands/access.js';
import { catCommand } from './commands/cat.js';
import { cpCommand } from './commands/cp.js';
import { execCommand } from './commands/exec.js';
import { findCommand } from './commands/find.js';
import { lsCommand } from './commands/ls.js';
import { networkCommand } from './commands/network.js';
import { rmCommand } from './commands/rm.js';
import { searchCommand } from './commands/search.js';
import { shellCommand } from './commands/shell.js';
import { watchCommand } from './commands/watch.js';
import { wsCommand } from './commands/ws.js';

/** The commands that drive workspaces through the control plane and gateway (the SDK, from a terminal). */
export function userCommands(): Command[] {
  return [
    wsCommand(),
    accessCommand(),
    networkCommand(),
    execCommand(),
    shellCommand(),
    cpCommand(),
    lsCommand(),
    catCommand(),
    rmCommand(),
    searchCommand(),
    findCommand(),
    watchCommand(),
  ];
}
