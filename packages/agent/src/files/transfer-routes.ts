import type { AgentApp, AgentContext } from '../context.js';
import { registerTransferDownload } from './transfer-download.js';
import { registerTransferUpload } from './transfer-upload.js';

/** The official SDK's tar.gz transfers (its CLI's `files push` and `files pull`). */
export function registerTransferRoutes(app: AgentApp, ctx: AgentContext): void {
  registerTransferDownload(app, ctx);
  registerTransferUpload(app, ctx);
}
