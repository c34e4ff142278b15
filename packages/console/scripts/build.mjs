#!/usr/bin/env node
// Builds the web console into dist/: index.html, one script (Preact, xterm.js, the SDK's runtime client and the
// console's code) and one stylesheet. Nothing is fetched at run time: the control plane serves these three files
// (and the source map) at /console/. Run by the root `npm run build` after `tsc -b` (the SDK's dist is bundled).
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist`;

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });
await build({
  entryPoints: { app: `${root}web/main.tsx` },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome120', 'firefox121', 'safari17'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  // The SDK loads `ws` only where there is no WebSocket global; browsers have one.
  external: ['ws'],
  legalComments: 'linked',
  logLevel: 'warning',
});
await copyFile(`${root}web/index.html`, `${outdir}/index.html`);
