export * from '../core/errors.js';
export type { RequestOptions } from '../core/transport.js';
export * from './exec.js';
export * from './files.js';
export { Runtime, type RuntimeOptions, type TokenSource } from './runtime.js';
export * from './search.js';
export * from './terminal.js';
export * from './watcher.js';
export * from './websocket.js';
