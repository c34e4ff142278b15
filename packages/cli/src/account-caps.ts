// The account caps on CPUs, memory and disk (`--account-cpus`, `--account-memory-mb`, `--account-disk-mb`): what all
// of one account's workspaces may have together. `cove up` and `cove api` take them alike.
import { CliError } from './cli-error.js';
import { EXIT } from './exit-codes.js';
import type { Settings } from './resolve-setting.js';
import { SETTINGS } from './settings.js';

const CAPS = [
  { setting: SETTINGS.accountCpus, attribute: 'accountCpus' },
  { setting: SETTINGS.accountMemoryMb, attribute: 'accountMemoryMb' },
  { setting: SETTINGS.accountDiskMb, attribute: 'accountDiskMb' },
] as const;

/** The caps set, as the control plane's limits take them; a value that is not a positive integer stops here (exit 2). */
export function accountCapsOf(settings: Settings): { accountCpus?: number; accountMemoryMb?: number; accountDiskMb?: number } {
  const caps: { accountCpus?: number; accountMemoryMb?: number; accountDiskMb?: number } = {};
  for (const cap of CAPS) {
    const { value, origin } = settings.get(cap.setting, cap.attribute);
    if (value === undefined) continue;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new CliError(`invalid ${origin} '${value}': expected a positive integer`, EXIT.usage);
    caps[cap.attribute] = n;
  }
  return caps;
}
