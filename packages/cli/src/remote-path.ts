/** A `WS:PATH` argument: a workspace (id or name) and a path inside it. */
export interface RemotePath {
  workspace: string;
  path: string;
}

// As scp reads it: a colon before any slash makes it remote, so `./a:b` and `/x:y` stay local.
const REMOTE = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/s;

/** `dev:/app/src` → remote; anything else (`./file`, `/abs`, `a/b:c`) → undefined. An empty path is the workspace's working directory. */
export function parseRemote(arg: string): RemotePath | undefined {
  const match = REMOTE.exec(arg);
  if (!match) return undefined;
  return { workspace: match[1] as string, path: match[2] === '' ? '.' : (match[2] as string) };
}
