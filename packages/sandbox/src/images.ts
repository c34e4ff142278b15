// The image store lives in images/; this entry keeps the modules that import it by this path working.
export * from './images/index.js';
