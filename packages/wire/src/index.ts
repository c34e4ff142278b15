// HTTP/1.1 on raw sockets with Node's own parser (llhttp): the relay under the gateway's data path and the
// agent's `/proxy`. See docs/decisions.md (Gateway, "The wire"; Proxy).
export type { WireHandlers, WireHandOff, WireTimeouts } from './downstream-connection.js';
export { answerAndClose, answerError, asAppError } from './error-answers.js';
export type { BodySink, Exchange, ExchangeOwner, RelayPolicy } from './exchange.js';
export { headerLines } from './exchange.js';
export { isName } from './header-names.js';
export type { BodyFraming } from './request-head.js';
export { RequestHead } from './request-head.js';
export { UpstreamPools, type UpstreamPoolsOptions, type UpstreamTarget, type UpstreamTimeouts } from './upstream-pools.js';
export { WireServer } from './wire-server.js';
