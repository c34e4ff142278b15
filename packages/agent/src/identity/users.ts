// Users as a container engine resolves them: `name`, `uid`, `name:group`, `uid:gid`, looked up in the workspace's
// own /etc/passwd and /etc/group (read at each use, so users added later count). Numbers need no entry.
import { readFileSync } from 'node:fs';

/** Who a process runs as. */
export interface RunAs {
  uid: number;
  gid: number;
  /** Supplementary groups: the primary group and every group that lists the user as a member. */
  groups: number[];
  /** The home directory of its /etc/passwd entry ("/" without one, "/root" for root). */
  home: string;
  /** The login shell of its entry, when it has one. */
  shell: string | undefined;
}

/** Why a user cannot be resolved; the caller decides whose mistake it was. */
export class UnknownUserError extends Error {}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 4_294_967_294;

/** Resolves `spec` against the files under `etc` (the workspace's `/etc`). Throws `UnknownUserError`. */
export function resolveUser(spec: string, etc = '/etc'): RunAs {
  if (spec === '' || spec.length > 256 || spec.includes('\0')) throw new UnknownUserError(`invalid user '${spec.slice(0, 64)}'`);
  const colon = spec.indexOf(':');
  const userPart = colon < 0 ? spec : spec.slice(0, colon);
  const groupPart = colon < 0 ? undefined : spec.slice(colon + 1);
  if (userPart === '' || groupPart === '' || groupPart?.includes(':')) throw new UnknownUserError(`invalid user '${spec}'`);

  const passwd = readPasswd(`${etc}/passwd`);
  const numericUid = numericId(userPart);
  const entry = numericUid !== undefined ? passwd.find((e) => e.uid === numericUid) : passwd.find((e) => e.name === userPart);
  if (entry === undefined && numericUid === undefined) throw new UnknownUserError(`no user '${userPart}' in ${etc}/passwd`);
  const uid = entry?.uid ?? (numericUid as number);

  let groups: GroupEntry[] | undefined;
  const groupFile = () => {
    groups ??= readGroups(`${etc}/group`);
    return groups;
  };
  let gid: number;
  if (groupPart !== undefined) {
    const numericGid = numericId(groupPart);
    if (numericGid !== undefined) gid = numericGid;
    else {
      const group = groupFile().find((g) => g.name === groupPart);
      if (!group) throw new UnknownUserError(`no group '${groupPart}' in ${etc}/group`);
      gid = group.gid;
    }
  } else {
    // Without an entry the group is root's, as Docker and runc do.
    gid = entry?.gid ?? 0;
  }
  const supplementary = [gid];
  if (entry) for (const g of groupFile()) if (g.members.includes(entry.name) && !supplementary.includes(g.gid)) supplementary.push(g.gid);
  return {
    uid,
    gid,
    groups: supplementary,
    home: entry?.home || (uid === 0 ? '/root' : '/'),
    shell: entry?.shell || undefined,
  };
}

function numericId(text: string): number | undefined {
  if (!/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}

function readLines(file: string): string[][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // Images without the file (distroless, scratch) still run numeric users.
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

function readPasswd(file: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const f of readLines(file)) {
    const uid = numericId(f[2] ?? '');
    const gid = numericId(f[3] ?? '');
    if (f.length < 7 || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0] as string, uid, gid, home: f[5] as string, shell: f[6] as string });
  }
  return out;
}

function readGroups(file: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const f of readLines(file)) {
    const gid = numericId(f[2] ?? '');
    if (f.length < 4 || gid === undefined) continue;
    out.push({ name: f[0] as string, gid, members: (f[3] as string).split(',').filter((m) => m !== '') });
  }
  return out;
}
