import pino, { type Logger } from 'pino';

/** Strips secrets from a URL before it is logged (`?token=` of WebSocket upgrades). */
export function redactUrl(url: string | undefined): string {
  if (!url) return '';
  return url.replace(/([?&](?:token|access_token|x_oblien_target)=)[^&#]*/gi, '$1[REDACTED]');
}

/**
 * The agent's structured logger, on stderr (stdout carries only the ready
 * line). Tokens never reach it: headers are not logged, URLs are redacted.
 */
export function createLogger(
  level: string = process.env.COVE_LOG_LEVEL ?? 'info',
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      level,
      base: { service: 'cove-agent' },
      redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.token'], censor: '[REDACTED]' },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination,
  );
}
