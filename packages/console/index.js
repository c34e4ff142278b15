// The console's node entry: where its built files are (`npm run build` writes them; the control plane serves them).
import { fileURLToPath } from 'node:url';

/** The directory of the built single-page app (index.html and its bundles). */
export const assetsDir = fileURLToPath(new URL('./dist/', import.meta.url));
