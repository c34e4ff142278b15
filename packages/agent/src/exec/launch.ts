// The last step before a spawner: the program found with the process's own PATH, and a user switch sent
// through exec-as. Shared by commands (exec) and whatever else starts workspace processes through a spawner.
import { execAsArgs, execAsPath, findProgram, programProblem } from '../identity/run-as.js';
import { nodeSpawner, SpawnError, type SpawnedProcess, type Spawner, type SpawnRequest } from './spawner.js';

/**
 * Starts `request` with `spawner`. A bare name is looked up in the PATH of the environment it will run with
 * (the workspace's, or the request's), not the agent's, and runs under its own name. A process that must
 * become another user starts through exec-as, which sets its supplementary groups, group and user before
 * executing it; without exec-as, Node switches it (supplementary groups reduced to none). Throws a
 * `SpawnError` when the program is not there or cannot be executed, as an exec would.
 */
export function launch(spawner: Spawner, request: SpawnRequest): SpawnedProcess | Promise<SpawnedProcess> {
  let { file } = request;
  let argv0 = request.argv0;
  if (!file.includes('/')) {
    const found = findProgram(file, request.cwd, (request.env ?? process.env).PATH);
    if (found === undefined) throw new SpawnError('ENOENT');
    argv0 ??= file;
    file = found;
  }
  const { runAs } = request;
  if (!runAs) return spawner.spawn({ ...request, file, argv0 });
  // exec-as reports a failed exec as an exit status; checked first, it fails the start instead, as a spawn does.
  const problem = programProblem(file, request.cwd);
  if (problem !== undefined) throw new SpawnError(problem);
  const execAs = execAsPath();
  if (execAs === null) return nodeSpawner.spawn({ ...request, file, argv0 });
  const [wrapper, args] = execAsArgs(execAs, file, argv0 ?? file, request.args, { runAs });
  return spawner.spawn({ file: wrapper, args, cwd: request.cwd, env: request.env });
}
