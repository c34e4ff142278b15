// A pooled agent's first command, run before any workspace adopts it. An agent's first /exec costs several
// times its later ones (the route's validator is compiled on first use, the spawn path and the code behind it
// are cold: 100-400 ms against 5-30 ms on this kind of host), and a pooled create is measured to its first
// exec. The pool pays that once per slot, in the background, through the agent's control socket (no network,
// no firewall opening), and leaves nothing of it behind: the task is forgotten and the command log cleared.
import http from 'node:http';

/** What is run: a program of the agent's own runtime, present in every workspace whatever its image. */
const WARM_COMMAND = ['/opt/cove/bin/tini', '--version'];
const TIMEOUT_MS = 10_000;

/** One request to the agent's control socket; resolves to the status and body, rejects on transport errors. */
function request(
  socketPath: string,
  token: string,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path: url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`${method} ${url}: no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Runs one command in the pooled agent behind `socketPath` (its token `token`), then makes it forget it: the
 * task list emptied, the command log cleared. Rejects when the agent does not answer or the clean-up fails
 * (the slot is then not handed out: an adopted workspace must not find a command it never ran).
 */
export async function warmPooledAgent(socketPath: string, token: string): Promise<void> {
  const exec = await request(socketPath, token, 'POST', '/exec', { cmd: WARM_COMMAND });
  if (exec.status !== 200) throw new Error(`the warm-up command was refused (${exec.status}): ${exec.text.slice(0, 200)}`);
  for (const url of ['/exec', '/logs/cmd']) {
    const res = await request(socketPath, token, 'DELETE', url);
    if (res.status !== 200) throw new Error(`DELETE ${url} after the warm-up failed (${res.status}): ${res.text.slice(0, 200)}`);
  }
}
