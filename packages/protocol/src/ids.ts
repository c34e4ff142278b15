/**
 * Identifier grammars. This file imports nothing (no schemas): clients that
 * must start fast load it alone as `@cove/protocol/ids`.
 */

/** Workspace ids: `ws_` and 8 or more lowercase letters and digits. */
export const WORKSPACE_ID_PATTERN = '^ws_[a-z0-9]{8,64}$';
