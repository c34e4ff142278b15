import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import { AppError } from '@cove/protocol';
import type { Task } from './task.js';

/** Input requests to one task run one after another, so their bytes never interleave. */
const queues = new WeakMap<Task, Promise<unknown>>();

/**
 * Copies a request body, as raw bytes, into a task's stdin with backpressure
 * (the request is read only as fast as the task's pipe takes it), and
 * optionally closes stdin afterwards. Resolves to the bytes written.
 */
export function writeInput(task: Task, body: IncomingMessage, eof: boolean): Promise<number> {
  const previous = queues.get(task) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(() => copy(task, body, eof));
  queues.set(task, next);
  return next;
}

async function copy(task: Task, body: IncomingMessage, eof: boolean): Promise<number> {
  let written = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const stdin = task.stdin;
    if (!stdin) throw closedError(task);
    if (!stdin.write(chunk)) await drained(stdin, task);
    written += chunk.length;
  }
  if (eof) task.closeStdin();
  return written;
}

function drained(stdin: Writable, task: Task): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: AppError) => {
      stdin.off('drain', onDrain);
      stdin.off('close', onClose);
      stdin.off('error', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(closedError(task));
    stdin.once('drain', onDrain);
    stdin.once('close', onClose);
    stdin.once('error', onClose);
  });
}

function closedError(task: Task): AppError {
  return task.running
    ? new AppError('task_not_running', `stdin of task ${task.id} is closed`)
    : new AppError('task_not_running', `task ${task.id} is not running (status ${task.status})`);
}
