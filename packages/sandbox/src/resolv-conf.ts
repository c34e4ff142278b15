// The resolv.conf every workspace gets (bind-mounted read-only at /etc/resolv.conf) and the resolvers it
// names, which the firewall keeps reachable on port 53 for workspaces with internet access.
import { readFile } from 'node:fs/promises';

/** The host's resolvers without loopback ones (unreachable from a workspace's namespace); 1.1.1.1 when none is left. */
export async function workspaceResolvConf(): Promise<string> {
  const host = await readFile('/etc/resolv.conf', 'utf8').catch(() => '');
  const lines = host.split('\n').filter((l) => /^(nameserver|search|options)\s/.test(l) && !/^nameserver\s+(127\.|::1)/.test(l));
  if (!lines.some((l) => l.startsWith('nameserver'))) lines.push('nameserver 1.1.1.1');
  return `${lines.join('\n')}\n`;
}

/** The IPv4 nameservers a resolv.conf names (workspaces have no IPv6). */
export function nameservers(resolvConf: string): string[] {
  const found = resolvConf.split('\n').flatMap((l) => /^nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(l.trim())?.slice(1) ?? []);
  return [...new Set(found)];
}

/** The nameservers of a slot's resolv.conf (written when its container is created), else of the one it would get. */
export async function slotNameservers(file: string): Promise<string[]> {
  return nameservers(await readFile(file, 'utf8').catch(() => workspaceResolvConf()));
}
