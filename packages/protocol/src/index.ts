export * from './common.js';
export * from './errors.js';
export * from './runtime.js';
