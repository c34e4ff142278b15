// Peers are real programs from Debian's packages; a benchmark installs the ones it needs.
import { execFileSync, spawnSync } from 'node:child_process';

/** @param {string} command */
export function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Installs Debian packages for the commands that are missing.
 * @param {Record<string, string>} commandToPackage
 */
export function ensureCommands(commandToPackage) {
  const missing = Object.entries(commandToPackage)
    .filter(([cmd]) => !has(cmd))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
}
