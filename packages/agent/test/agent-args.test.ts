import { AgentExitError, parseAgentArgs } from '@cove/agent';
import { describe, expect, it } from 'vitest';

const token = { COVE_AGENT_TOKEN: 't' };

function config(args: string[], env: NodeJS.ProcessEnv = token) {
  const parsed = parseAgentArgs(args, env);
  if (parsed.help) throw new Error('help');
  return parsed.config;
}

function usageError(args: string[], env: NodeJS.ProcessEnv = token): AgentExitError {
  try {
    parseAgentArgs(args, env);
  } catch (err) {
    if (err instanceof AgentExitError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('the agent command line', () => {
  it('has the defaults it always had', () => {
    expect(config([])).toEqual({
      listen: '0.0.0.0:9990',
      host: '0.0.0.0',
      port: 9990,
      workdir: '/root',
      token: { kind: 'env', value: 't' },
      allowedOrigins: [],
    });
  });

  it('takes several origins after one --allow-origin, and repeated ones, as before', () => {
    expect(
      config(['--allow-origin', 'https://a.example', 'https://b.example', '--listen', '[::1]:1', '--allow-origin=https://c.example']),
    ).toMatchObject({
      host: '::1',
      port: 1,
      allowedOrigins: ['https://a.example', 'https://b.example', 'https://c.example'],
    });
    expect(config([], { ...token, COVE_AGENT_ALLOW_ORIGIN: 'https://a.example, https://b.example' }).allowedOrigins).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
    expect(
      config(['--allow-origin', 'https://x.example'], { ...token, COVE_AGENT_ALLOW_ORIGIN: 'https://a.example' }).allowedOrigins,
    ).toEqual(['https://x.example']);
  });

  it('prefers a token file (flag, then environment) to COVE_AGENT_TOKEN', () => {
    expect(config(['--token-file', '/run/t'], { ...token, COVE_AGENT_TOKEN_FILE: '/env/t' }).token).toEqual({
      kind: 'file',
      path: '/run/t',
    });
    expect(config([], { ...token, COVE_AGENT_TOKEN_FILE: '/env/t' }).token).toEqual({ kind: 'file', path: '/env/t' });
  });

  it('refuses what it cannot use, with exit status 2', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [[], {}, 'no token: set COVE_AGENT_TOKEN or pass --token-file PATH'],
      [['--token', 'abc'], token, '--token is not accepted: command lines are visible to every user; use COVE_AGENT_TOKEN or --token-file'],
      [['--nope'], token, "unknown option '--nope' (see --help)"],
      [['stray'], token, "unexpected argument 'stray' (see --help)"],
      [['--listen', 'nowhere'], token, "invalid --listen 'nowhere': expected HOST:PORT"],
      [['--listen', '1.2.3.4:70000'], token, "invalid --listen '1.2.3.4:70000': port out of range"],
    ];
    for (const [args, env, message] of cases) {
      const err = usageError(args, env);
      expect(err.message, args.join(' ')).toBe(message);
      expect(err.exitCode).toBe(2);
    }
  });

  it('asks for help with -h and --help', () => {
    expect(parseAgentArgs(['-h'], {})).toEqual({ help: true });
    expect(parseAgentArgs(['--listen', '1', '--help'], {})).toEqual({ help: true });
  });
});
