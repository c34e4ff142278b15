import { redactUrl } from '@cove/protocol';
import pino, { type Logger } from 'pino';

/**
 * The gateway's structured logger, on stderr. Tokens never reach it:
 * headers are not logged, URLs are redacted, token-like fields censored.
 */
export function createGatewayLogger(level: string = process.env.COVE_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'cove-gateway' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token', 'token', 'secret'], censor: '[REDACTED]' },
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, url: redactUrl(req.url) }),
      },
    },
    pino.destination(2),
  );
}
