import pino, { type Logger } from 'pino';

/**
 * The control plane's structured logger, on stderr (stdout is left to the
 * command that runs it, e.g. `cove up`'s quick start). Credentials and tokens never reach it: request headers are
 * not logged and the redaction list covers the fields that could hold one.
 */
export function createApiLogger(level: string = process.env.COVE_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'cove-api' },
      redact: {
        paths: ['req.headers', 'headers', '*.token', '*.rawToken', '*.secret', '*.clientSecret', '*.databaseUrl'],
        censor: '[REDACTED]',
      },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: req.url }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    pino.destination(2),
  );
}
