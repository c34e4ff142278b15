import { fileURLToPath } from 'node:url';

/** The namespace helper, built by `npm ci` (scripts/build-native.mjs); the same path from src/ and dist/. */
export const NS_HELPER = fileURLToPath(new URL('../native/build/ns-helper', import.meta.url));
