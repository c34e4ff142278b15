// A workload's definition: what create and update bodies say, checked and completed with defaults. It is what
// the store keeps; where the workload is (running, its pid) is the supervisor's.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  AppError,
  badParam,
  WORKLOAD_LIMITS,
  type WorkloadCreateBody,
  type WorkloadRestartPolicy,
  type WorkloadUpdateBody,
  type WorkloadVmOnExit,
} from '@cove/protocol';

export interface WorkloadDefinition {
  id: string;
  name: string;
  cmd: string[];
  env: string[];
  working_dir: string | null;
  user: string | null;
  restart_policy: WorkloadRestartPolicy;
  max_restarts: number;
  restart_delay: number;
  restart_backoff: boolean;
  /** As the caller gave it; null: the agent's own file for it (`defaultLogPath`). */
  log_path: string | null;
  max_log_size_mb: number;
  vm_on_exit: WorkloadVmOnExit;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** Ids that are routes of their own under `/workloads/`. */
const RESERVED_IDS = new Set(['stats', 'events']);

/** The largest definition, serialised: bounds what the store and every answer carry. */
const MAX_DEFINITION_BYTES = 1024 * 1024;

/** Directories a log file may not be in: they are the kernel's, not files. */
const NO_LOG_ROOTS = ['/proc', '/sys', '/dev'];

export function newWorkloadId(): string {
  return `wl_${randomBytes(6).toString('hex')}`;
}

/** A new definition from a create body (not yet checked against the workspace: see `preflight`). */
export function definitionFromCreate(body: WorkloadCreateBody, now: string): WorkloadDefinition {
  const id = body.id ?? newWorkloadId();
  if (RESERVED_IDS.has(id)) throw badParam('id', `'${id}' is reserved`);
  const cmd = commandOf(body);
  if (cmd === undefined) throw new AppError('bad_request', "missing required parameter 'cmd'");
  const def: WorkloadDefinition = {
    id,
    name: body.name ?? id,
    cmd,
    env: [],
    working_dir: null,
    user: null,
    restart_policy: 'never',
    max_restarts: 0,
    restart_delay: WORKLOAD_LIMITS.defaultRestartDelay,
    restart_backoff: true,
    log_path: null,
    max_log_size_mb: WORKLOAD_LIMITS.defaultLogSizeMb,
    vm_on_exit: '',
    labels: {},
    annotations: {},
    enabled: true,
    created_at: now,
    updated_at: now,
  };
  return applyFields(def, body);
}

/** The definition with an update's fields applied (`id` and `created_at` never change). */
export function definitionWithUpdate(current: WorkloadDefinition, body: WorkloadUpdateBody, now: string): WorkloadDefinition {
  const next = applyFields({ ...current, updated_at: now }, body);
  const cmd = commandOf(body);
  if (cmd !== undefined) next.cmd = cmd;
  return next;
}

/** Whether two definitions run the same process (a change of any of these restarts a running workload). */
export function sameProcess(a: WorkloadDefinition, b: WorkloadDefinition): boolean {
  return (
    JSON.stringify([a.cmd, a.env, a.working_dir, a.user, a.log_path]) === JSON.stringify([b.cmd, b.env, b.working_dir, b.user, b.log_path])
  );
}

function commandOf(body: WorkloadCreateBody | WorkloadUpdateBody): string[] | undefined {
  if (body.cmd !== undefined && body.command !== undefined) throw badParam('command', "give 'cmd' or 'command', not both");
  const given = body.cmd ?? body.command;
  if (given === undefined) return undefined;
  // A string is a shell command line, as an image's CMD in shell form.
  const cmd = typeof given === 'string' ? ['/bin/sh', '-c', given] : given;
  const field = body.cmd !== undefined ? 'cmd' : 'command';
  if (cmd.length === 0 || cmd[0] === '') throw badParam(field, 'the program (first element) is empty');
  if (cmd.some((a) => a.includes('\0'))) throw badParam(field, 'arguments cannot contain NUL bytes');
  return [...cmd];
}

function applyFields(def: WorkloadDefinition, body: WorkloadCreateBody | WorkloadUpdateBody): WorkloadDefinition {
  if (body.name !== undefined) def.name = checkText(body.name, 'name');
  if (body.env !== undefined) def.env = envEntries(body.env);
  if (body.working_dir !== undefined) def.working_dir = checkText(body.working_dir, 'working_dir');
  if (body.user !== undefined) def.user = checkText(body.user, 'user');
  if (body.restart_policy !== undefined) def.restart_policy = body.restart_policy;
  if (body.max_restarts !== undefined) def.max_restarts = body.max_restarts;
  if (body.restart_delay !== undefined) def.restart_delay = body.restart_delay;
  if (body.restart_backoff !== undefined) def.restart_backoff = body.restart_backoff;
  if (body.log_path !== undefined) def.log_path = checkLogPath(body.log_path);
  if (body.max_log_size_mb !== undefined) def.max_log_size_mb = body.max_log_size_mb;
  if (body.vm_on_exit !== undefined) def.vm_on_exit = body.vm_on_exit;
  if (body.labels !== undefined) def.labels = checkMap(body.labels, 'labels');
  if (body.annotations !== undefined) def.annotations = checkMap(body.annotations, 'annotations');
  if (body.enabled !== undefined) def.enabled = body.enabled;
  if (Buffer.byteLength(JSON.stringify(def)) > MAX_DEFINITION_BYTES) {
    throw new AppError(
      'payload_too_large',
      `a workload's definition (command, environment, labels) is limited to ${MAX_DEFINITION_BYTES} bytes`,
    );
  }
  return def;
}

function checkText(value: string, field: string): string {
  if (value.includes('\0')) throw badParam(field, 'cannot contain NUL bytes');
  return value;
}

/** `KEY=value` entries from either spelling; a name is required and NUL bytes are refused. */
function envEntries(env: readonly string[] | Readonly<Record<string, string>>): string[] {
  const entries = Array.isArray(env) ? [...(env as readonly string[])] : Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (entries.length > WORKLOAD_LIMITS.maxEnv) throw badParam('env', `at most ${WORKLOAD_LIMITS.maxEnv} entries`);
  for (const entry of entries) {
    if (entry.includes('\0')) throw badParam('env', 'entries cannot contain NUL bytes');
    if (entry.indexOf('=') <= 0) throw badParam('env', `expected KEY=value, got '${entry.slice(0, 64)}'`);
  }
  return entries;
}

function checkMap(map: Readonly<Record<string, string>>, field: string): Record<string, string> {
  const entries = Object.entries(map);
  if (entries.length > WORKLOAD_LIMITS.maxLabels) throw badParam(field, `at most ${WORKLOAD_LIMITS.maxLabels} entries`);
  for (const [k, v] of entries) {
    if (k === '' || k.length > WORKLOAD_LIMITS.maxLabelKey) throw badParam(field, `keys are 1-${WORKLOAD_LIMITS.maxLabelKey} characters`);
    if (v.length > WORKLOAD_LIMITS.maxLabelValue) throw badParam(field, `values are at most ${WORKLOAD_LIMITS.maxLabelValue} characters`);
  }
  return Object.fromEntries(entries);
}

function checkLogPath(value: string): string {
  if (value.includes('\0')) throw badParam('log_path', 'cannot contain NUL bytes');
  if (!path.isAbsolute(value)) throw badParam('log_path', 'must be an absolute path');
  const normal = path.normalize(value);
  if (normal.endsWith('/')) throw badParam('log_path', 'must name a file');
  if (NO_LOG_ROOTS.some((root) => normal === root || normal.startsWith(`${root}/`))) {
    throw badParam('log_path', `cannot be under ${NO_LOG_ROOTS.join(', ')}`);
  }
  return normal;
}
