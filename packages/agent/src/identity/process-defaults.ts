// What the workspace's processes (commands and terminals) start with when a request does not say: the
// environment, the user and, beside them, how a process becomes that user.
import { AppError, badParam } from '@cove/protocol';
import { type RunAs, resolveUser, UnknownUserError } from './users.js';

export interface ProcessDefaultsOptions {
  /**
   * The environment processes start from, as `KEY=value` entries (the sandbox gives the image's, over Cove's
   * defaults). Undefined: the agent's own environment, read at each start so that changes to it apply.
   */
  env?: readonly string[];
  /**
   * Where the environment is read from at each start when `env` is not given (default: the agent's own,
   * `process.env`). An agent embedded in another program gives its processes their own HOME this way, as the
   * process driver does with the agent's environment.
   */
  baseEnv?: () => NodeJS.ProcessEnv;
  /** The user processes run as unless a request names one (`name`, `uid`, `name:group`, `uid:gid`). */
  user?: string;
  /** Where /etc/passwd and /etc/group are read (tests); default `/etc`. */
  etc?: string;
}

/** A process's identity and environment, resolved for one request. */
export interface ProcessIdentity {
  env: Record<string, string>;
  /** Who to become, or undefined to run as the agent does. */
  runAs: RunAs | undefined;
  /** The user's login shell (its /etc/passwd entry), for terminals without a command. */
  shell: string | undefined;
}

export class ProcessDefaults {
  readonly #env: Readonly<Record<string, string>> | undefined;
  readonly #user: string | undefined;
  readonly #etc: string;
  readonly #baseEnv: () => NodeJS.ProcessEnv;

  constructor(options: ProcessDefaultsOptions = {}) {
    this.#env = options.env ? parseEnvEntries(options.env) : undefined;
    this.#baseEnv = options.baseEnv ?? (() => process.env);
    this.#user = options.user;
    this.#etc = options.etc ?? '/etc';
  }

  /** The default user (for messages and logs). */
  get user(): string | undefined {
    return this.#user;
  }

  /**
   * The identity of a new process: the request's user, else the default one; the base environment with HOME
   * set from that user when the base has none, then the request's variables over it (null removes one).
   */
  resolve(requestedUser: string | undefined, overrides?: Readonly<Record<string, string | null>>): ProcessIdentity {
    const runAs = this.#runAs(requestedUser);
    const env: Record<string, string> = {};
    if (this.#env) Object.assign(env, this.#env);
    else for (const [k, v] of Object.entries(this.#baseEnv())) if (v !== undefined) env[k] = v;
    // The user's home, as an engine sets it: only where the image (or the agent's environment) has none.
    if (env.HOME === undefined) env.HOME = (runAs ?? this.#agentUser()).home;
    for (const [k, v] of Object.entries(overrides ?? {})) {
      if (v === null) delete env[k];
      else env[k] = v;
    }
    // The shell is looked up only when asked for (terminals): commands do not read /etc/passwd for it.
    const agentUser = () => this.#agentUser();
    return {
      env,
      runAs: needsSwitch(runAs) ? runAs : undefined,
      get shell() {
        return (runAs ?? agentUser()).shell;
      },
    };
  }

  #runAs(requested: string | undefined): RunAs | undefined {
    if (requested !== undefined) {
      try {
        return resolveUser(requested, this.#etc);
      } catch (err) {
        if (err instanceof UnknownUserError) throw badParam('user', err.message);
        throw err;
      }
    }
    if (this.#user === undefined) return undefined;
    try {
      return resolveUser(this.#user, this.#etc);
    } catch (err) {
      if (err instanceof UnknownUserError)
        throw new AppError('failed_to_start', `the workspace's user cannot run processes: ${err.message}`);
      throw err;
    }
  }

  /** The agent's own user, for HOME and the shell (its uid's entry; root's defaults when there is none). */
  #agentUser(): RunAs {
    const uid = process.getuid?.() ?? 0;
    try {
      return resolveUser(String(uid), this.#etc);
    } catch {
      return { uid, gid: process.getgid?.() ?? 0, groups: [], home: uid === 0 ? '/root' : '/', shell: undefined };
    }
  }
}

/** Whether running as `runAs` needs a switch (the agent is someone else). */
function needsSwitch(runAs: RunAs | undefined): boolean {
  if (runAs === undefined) return false;
  return runAs.uid !== (process.getuid?.() ?? -1) || runAs.gid !== (process.getgid?.() ?? -1);
}

/** `KEY=value` entries as a record; later entries win, entries without a name are dropped. */
export function parseEnvEntries(entries: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}
