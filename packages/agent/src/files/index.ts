import type { Domain } from '../context.js';
import { registerDeleteRoutes } from './delete-routes.js';
import { registerDownloadRoutes } from './download-routes.js';
import { registerMoveRoutes } from './move-routes.js';
import { type FilesOptions, withDefaults } from './options.js';
import { registerReadRoutes } from './read-routes.js';
import { registerStatRoutes } from './stat-routes.js';
import { registerTransferRoutes } from './transfer-routes.js';
import { registerUploadRoutes } from './upload-routes.js';
import { registerWriteRoutes } from './write-routes.js';

export type { FilesOptions } from './options.js';

/**
 * The files domain: read, write, mkdir, stat, delete, move, download,
 * upload and the tar.gz transfers. (Listing and search live elsewhere.)
 */
export function createFilesDomain(options: FilesOptions = {}): Domain {
  const settings = withDefaults(options);
  return (app, ctx) => {
    registerReadRoutes(app, ctx, settings);
    registerWriteRoutes(app, ctx);
    registerStatRoutes(app, ctx);
    registerDeleteRoutes(app, ctx);
    registerMoveRoutes(app, ctx);
    registerDownloadRoutes(app, ctx);
    registerUploadRoutes(app, ctx);
    registerTransferRoutes(app, ctx);
  };
}

/** The files domain with its default limits. */
export const filesDomain: Domain = createFilesDomain();
