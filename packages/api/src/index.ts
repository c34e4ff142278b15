export { createCredential, hashSecret, type IssuedCredential, OWNER_PATTERN } from './auth/credentials.js';
export { GATEWAY_SECRET_SETTING, loadGatewaySecret, signGatewayJwt, verifyGatewayJwt } from './auth/gateway-jwt.js';
export { INTERNAL_WAKE_HEADER, INTERNAL_WAKE_PATH, internalWakeClient, signWake } from './auth/internal-wake.js';
export { createApiLogger } from './logger.js';
export { API_VERSION, type ControlPlane, type ControlPlaneOptions, createControlPlane } from './server.js';
export { wakingRoutes } from './service/lifecycle-routes-source.js';
export { openStore, type StoreConfig, sqliteFile } from './store/open-store.js';
export type { CredentialRecord, WorkspaceRecord } from './store/records.js';
export type { Store } from './store/store.js';
