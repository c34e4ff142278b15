// A throwaway OpenSSH server on a loopback port, the peer of the exec benchmarks: its own host
// key, its own client key in its own authorized_keys, nothing of the machine's ssh set-up used.
//
// sshd always runs a command as `<login shell> -c '<command>'`, and bash, when started by sshd,
// reads ~/.bashrc even for `-c`. On the machines these benchmarks run on, root's ~/.bashrc starts
// pyenv (dozens of processes): that, not ssh, was the 288 ms (453 ms in a re-run) `ssh … true`
// the exec-spawn suite used to report (strace of the session: 72 ms of a 80 ms run in .bashrc
// here). The session's HOME is therefore an empty scratch directory (`SetEnv HOME=…`), so the
// peer pays for ssh and its shell, not for whatever the machine's login set-up does. DNS (UseDNS
// no), PAM, motd, last-log and host-key checks are off too; GSSAPI is off by default on both ends.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

async function waitForPort(port, child) {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('sshd did not start listening');
}

/**
 * Starts sshd on 127.0.0.1 and returns `sshArgs(...command)`: the argv of an `ssh` that runs a
 * command there through a ControlMaster connection (opened once by `start`, reused by every call).
 * @param {string} dir scratch directory
 */
export async function startSshd(dir) {
  const root = path.join(dir, 'sshd');
  await mkdir(root, { recursive: true });
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const hostKey = path.join(root, 'host_ed25519');
  const clientKey = path.join(root, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', clientKey]);
  const authorized = path.join(root, 'authorized_keys');
  const home = path.join(root, 'home');
  await mkdir(home, { recursive: true });
  await writeFile(authorized, execFileSync('cat', [`${clientKey}.pub`]), { mode: 0o600 });
  const port = await freePort();
  const config = path.join(root, 'sshd_config');
  const configLines = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorized}`,
    `PidFile ${path.join(root, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    `SetEnv HOME=${home}`,
    'LogLevel QUIET',
    'MaxSessions 100',
    'MaxStartups 100',
  ];
  await writeFile(config, `${configLines.join('\n')}\n`);
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port, child);

  const user = os.userInfo().username;
  const control = path.join(root, 'cm');
  const common = [
    '-F',
    '/dev/null',
    '-i',
    clientKey,
    '-p',
    String(port),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    `ControlPath=${control}`,
  ];
  // The master connection: authenticated once, kept in the background, reused by every `ssh` below.
  execFileSync('ssh', [...common, '-o', 'ControlMaster=yes', '-o', 'ControlPersist=600', '-f', '-N', `${user}@127.0.0.1`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const sshArgs = (...command) => [...common, '-o', 'ControlMaster=no', `${user}@127.0.0.1`, ...command];
  return {
    port,
    /** @param {...string} command */
    sshArgs,
    /**
     * The peer's exact set-up for a suite's notes: the client's argv (scratch paths shortened) and
     * the server's non-path options.
     * @param {string[]} argv what the suite runs, `ssh` first
     */
    describe: (argv) => {
      const short = (a) => a.replaceAll(root, '<scratch>');
      const serverOptions = configLines.filter((l) => !/^(Port|ListenAddress|HostKey|AuthorizedKeysFile|PidFile) /.test(l)).map(short);
      return `client: \`${argv.map(short).join(' ')}\` through a master opened once with \`ssh -o ControlMaster=yes -o ControlPersist=600 -f -N\` (same options); server: OpenSSH sshd on 127.0.0.1, ${serverOptions.join(', ')}`;
    },
    async close() {
      try {
        execFileSync('ssh', [...common, '-O', 'exit', `${user}@127.0.0.1`], { stdio: 'ignore' });
      } catch {
        // The master is already gone.
      }
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
