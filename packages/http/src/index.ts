export { installBodyParsers, type RawBodyConfig } from './body-parsers.js';
export { describeValidation, installErrorHandler, sendError, toAppError } from './error-handler.js';
export { createJsonApp, type JsonApp, type JsonAppOptions, listenUrl, serveOpenApi } from './json-app.js';
export { installQueryBooleans } from './query-booleans.js';
export { installRequestIds, requestIdOf } from './request-ids.js';
export { RouteTable } from './route-table.js';
export { buildPartValidators } from './validators.js';
