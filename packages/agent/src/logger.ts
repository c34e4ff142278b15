import { redactUrl } from '@cove/protocol';
import pino, { type Logger } from 'pino';

/**
 * The agent's structured logger, on stderr (stdout carries only the lifecycle
 * messages). Tokens never reach it: headers are not logged, URLs are redacted.
 */
export function createLogger(
  level: string = process.env.COVE_LOG_LEVEL ?? 'info',
  destination: pino.DestinationStream = stderrDestination(),
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

/** stderr for pino; a write that fails (a log file on a full disk) drops the line instead of crashing the agent. */
function stderrDestination(): pino.DestinationStream {
  const destination = pino.destination(2);
  destination.on('error', () => {});
  return destination;
}
