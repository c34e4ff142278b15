import { STATUS_CODES } from 'node:http';
import type { AppError } from '@cove/protocol';
import type { Exchange } from '@cove/wire';
import { answerError } from '@cove/wire';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Whether the caller is a browser navigating (its Accept names HTML): it gets a page rather than JSON. */
export function acceptsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/html\b/i.test(accept);
}

/**
 * A public port's refusal: public URLs are opened in browsers, which get a
 * short HTML page; programs get the usual JSON error body.
 */
export function answerPublicError(exchange: Exchange, error: AppError, accept: string | undefined): void {
  if (!acceptsHtml(accept)) {
    answerError(exchange, error);
    return;
  }
  const title = `${error.status} ${STATUS_CODES[error.status] ?? 'Error'}`;
  const body =
    `<!doctype html>\n<html><head><meta charset="utf-8"><title>${title}</title></head>\n` +
    `<body><h1>${title}</h1><p>${escapeHtml(error.message)}</p></body></html>\n`;
  exchange.respond(
    error.status,
    {
      ...error.headers,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'",
    },
    body,
  );
}
