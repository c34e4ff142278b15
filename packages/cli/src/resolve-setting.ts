import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import { CliError } from './cli-error.js';
import { SETTINGS, type Setting } from './settings.js';

/** Where a value came from. */
export type Source = 'flag' | 'env' | 'file' | 'default';

export interface Resolved<T> {
  value: T;
  source: Source;
  /** The place, for messages: `--api-listen`, `COVE_API_LISTEN`, `api_listen in /root/.cove/config.json`, `the default`. */
  origin: string;
}

type FileName = NonNullable<Setting['file']>;

/** The JSON files settings may come from, in one data directory. Each is read once, when a setting first needs it. */
export class SettingsFiles {
  readonly #cache = new Map<FileName, Record<string, unknown>>();
  constructor(readonly dataDir: string) {}

  path(name: FileName): string {
    return path.join(this.dataDir, `${name}.json`);
  }

  read(name: FileName): Record<string, unknown> {
    let value = this.#cache.get(name);
    if (!value) {
      value = readJsonObject(this.path(name));
      this.#cache.set(name, value);
    }
    return value;
  }
}

function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    // No file is normal (flags, environment and defaults may say everything); an unreadable one is worth saying.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 1);
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, 1);
  }
}

/** A file value as text: strings as they are, numbers and booleans spelled out; anything else is not a value. */
function fileText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Commas or white space separate the items of a list in the environment (`COVE_ALLOW_ORIGIN=a,b`). */
const splitList = (text: string) => text.split(/[\s,]+/).filter((item) => item !== '');

/** A flag value as the resolver sees it: what commander parsed (undefined when the flag was not given). */
export interface FlagValue {
  value: unknown;
  /** The flag's spelling, for messages (`--listen`). */
  name: string;
}

/**
 * Resolves one setting, flag > environment > file > default. An empty
 * string counts as unset wherever it comes from; a value outside the
 * setting's choices is a usage error (exit 2) naming where it came from.
 */
export function resolveSetting(
  setting: Setting,
  flag: FlagValue | undefined,
  env: NodeJS.ProcessEnv,
  files: SettingsFiles | undefined,
): Resolved<string[] | string | undefined> {
  const found = find(setting, flag, env, files);
  if (setting.choices && typeof found.value === 'string' && !setting.choices.includes(found.value)) {
    throw new CliError(`invalid ${found.origin} '${found.value}': expected ${setting.choices.join(', ')}`, 2);
  }
  return found;
}

function find(
  setting: Setting,
  flag: FlagValue | undefined,
  env: NodeJS.ProcessEnv,
  files: SettingsFiles | undefined,
): Resolved<string[] | string | undefined> {
  const flagValue = flag?.value;
  if (Array.isArray(flagValue) ? flagValue.length > 0 : typeof flagValue === 'string' && flagValue !== '') {
    return { value: flagValue as string[] | string, source: 'flag', origin: flag?.name ?? setting.key };
  }
  const envValue = env[setting.env];
  if (envValue !== undefined && envValue !== '') {
    return { value: setting.list ? splitList(envValue) : envValue, source: 'env', origin: setting.env };
  }
  if (setting.file && files) {
    const raw = files.read(setting.file)[setting.key];
    const origin = `${setting.key} in ${files.path(setting.file)}`;
    if (setting.list && Array.isArray(raw)) {
      const items = raw.map(fileText).filter((item): item is string => item !== undefined);
      if (items.length > 0) return { value: items, source: 'file', origin };
    } else {
      const text = fileText(raw);
      if (text !== undefined) return { value: setting.list ? splitList(text) : text, source: 'file', origin };
    }
  }
  return { value: setting.list ? [] : setting.default, source: 'default', origin: 'the default' };
}

/**
 * `(env: COVE_X, config.json: x, default: Y)` after the description, so that
 * `--help` shows every place a flag's value may come from.
 */
export function settingOption(setting: Setting, flags: string): Option {
  const places = [`env: ${setting.env}`];
  if (setting.file) places.push(`${setting.file}.json: ${setting.key}`);
  if (setting.default !== undefined) places.push(`default: ${setting.default}`);
  return new Option(flags, `${setting.description} (${places.join(', ')})`);
}

type Value<S extends Setting> = S extends { list: true } ? string[] : S extends { default: string } ? string : string | undefined;

/**
 * The settings of one command run: flags as commander parsed them, the
 * environment, and the files in the data directory the same rules resolve.
 */
export class Settings {
  readonly files: SettingsFiles;
  readonly #command: Command;
  readonly #env: NodeJS.ProcessEnv;

  constructor(command: Command, env: NodeJS.ProcessEnv = process.env) {
    this.#command = command;
    this.#env = env;
    // The data directory holds the files, so it comes from its flag, the environment or the default only.
    this.files = new SettingsFiles(path.resolve(this.#resolve(SETTINGS.dataDir, 'dataDir', false).value as string));
  }

  /** The setting's value; `attribute` is its flag's name in commander's options (`listen` for `--listen`). */
  get<S extends Setting>(setting: S, attribute: string): Resolved<Value<S>> {
    return this.#resolve(setting, attribute, true) as Resolved<Value<S>>;
  }

  value<S extends Setting>(setting: S, attribute: string): Value<S> {
    return this.get(setting, attribute).value;
  }

  #resolve(setting: Setting, attribute: string, withFiles: boolean): Resolved<string[] | string | undefined> {
    // The flag may be the parent's (`cove api --data-dir … credentials list`).
    for (let command: Command | null = this.#command; command; command = command.parent) {
      const option = command.options.find((o) => o.attributeName() === attribute);
      if (option) {
        const flag = { value: command.getOptionValue(attribute), name: option.long ?? attribute };
        return resolveSetting(setting, flag, this.#env, withFiles ? this.files : undefined);
      }
    }
    return resolveSetting(setting, undefined, this.#env, withFiles ? this.files : undefined);
  }
}
