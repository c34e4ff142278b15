import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  AppError,
  ConfigResponse,
  ErrorResponse,
  InfoResponse,
  PrometheusPage,
  STATS_INTERVAL,
  StatsResponse,
  StatsStreamQuery,
  WorkspaceIdParams,
} from '@cove/protocol';
import type { ApiApp } from '../http/app-types.js';
import type { ControlContext } from '../service/context.js';
import { MetricsService, presentStats } from '../service/metrics.js';
import { exposition, PROMETHEUS_CONTENT_TYPE, type ScrapedWorkspace } from '../service/prometheus.js';

const errors = { 401: ErrorResponse, 404: ErrorResponse, 409: ErrorResponse };

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
};

/** Bytes a stream's reader may leave unread before samples are skipped: a stats sample is a snapshot, so a slow reader gets fewer, never a backlog. */
const STREAM_SOFT_LIMIT = 64 * 1024;

export interface MetricsRouteOptions {
  /** Bearer token `GET /metrics` requires; without one it answers loopback callers only. */
  metricsToken?: string | undefined;
}

/** Workspace stats, info and config (the official SDK's `metrics`), and the Prometheus page `GET /metrics`. */
export function metricsRoutes(app: ApiApp, ctx: ControlContext, options: MetricsRouteOptions = {}): void {
  const svc = new MetricsService(ctx);
  const tags = ['metrics'];
  const params = WorkspaceIdParams;

  app.get(
    '/workspace/:id/stats',
    {
      schema: {
        tags,
        summary: "A running workspace's CPU, memory, processes, disk and network figures, read from the kernel",
        params,
        response: { 200: StatsResponse, ...errors },
      },
    },
    async (r) => {
      const ws = await svc.runningWorkspace(r.coveOwner, r.params.id);
      return { success: true as const, ...presentStats(ws, ctx.driver.name, await svc.read(ws)) };
    },
  );

  app.get(
    '/workspace/:id/stats/stream',
    {
      schema: {
        tags,
        summary: 'The same figures as SSE, one `event: stats` per interval, until the workspace stops or the client leaves',
        params,
        querystring: StatsStreamQuery,
        response: errors,
      },
    },
    async (r, reply) => {
      const owner = r.coveOwner;
      const interval = r.query.interval_ms ?? STATS_INTERVAL.defaultMs;
      let ws = await svc.runningWorkspace(owner, r.params.id);
      // The first reading is taken before the answer starts, so that a failure is still a JSON error.
      const first = await svc.read(ws);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, SSE_HEADERS);
      raw.socket?.setNoDelay(true);
      raw.write(`event: stats\ndata: ${JSON.stringify(presentStats(ws, ctx.driver.name, first))}\n\n`);
      let timer: NodeJS.Timeout | undefined;
      const stop = () => clearTimeout(timer);
      raw.once('close', stop);
      const tick = async () => {
        if (raw.destroyed || raw.writableEnded) return;
        try {
          ws = await svc.runningWorkspace(owner, ws.id);
          if (raw.writableLength <= STREAM_SOFT_LIMIT) {
            const sample = presentStats(ws, ctx.driver.name, await svc.read(ws));
            if (raw.destroyed) return;
            raw.write(`event: stats\ndata: ${JSON.stringify(sample)}\n\n`);
          }
        } catch (err) {
          // Stopped or deleted meanwhile: the stream ends (a comment, invisible to parsers of `data:` lines).
          const reason = err instanceof AppError ? err.message : 'the stats could not be read';
          raw.end(`: ${reason.replace(/\n/g, ' ')}\n\n`);
          return;
        }
        timer = setTimeout(tick, interval);
      };
      timer = setTimeout(tick, interval);
      return reply;
    },
  );

  app.get(
    '/workspace/:id/info',
    {
      schema: {
        tags,
        summary: 'What the workspace runs on: driver, kernel, architecture, cgroup layout',
        params,
        response: { 200: InfoResponse, ...errors },
      },
    },
    (r) => svc.info(r.coveOwner, r.params.id),
  );

  app.get(
    '/workspace/:id/config',
    {
      schema: {
        tags,
        summary: 'The resources asked for and the limits the kernel enforces now (`applied`, null when stopped)',
        params,
        response: { 200: ConfigResponse, ...errors },
      },
    },
    (r) => svc.config(r.coveOwner, r.params.id),
  );

  const checkScraper = scraperCheck(options.metricsToken);
  app.get(
    '/metrics',
    {
      // Not client credentials: an operator's scraper (a bearer token, or loopback without one). See decisions.md "Metrics".
      config: { public: true },
      schema: {
        tags,
        summary: "Every workspace's figures in Prometheus' text format (operator: metrics token, or loopback)",
        security: [],
        response: { 200: PrometheusPage, 401: ErrorResponse, 403: ErrorResponse },
      },
    },
    async (r, reply) => {
      checkScraper(r.raw);
      const { items } = await ctx.store.listWorkspaces();
      let errorsSeen = 0;
      const scraped: ScrapedWorkspace[] = await Promise.all(
        items.map(async (ws) => {
          if (ws.status === 'stopped') return { ws, stats: undefined };
          const stats = await svc.readCounters(ws).catch(() => {
            errorsSeen++;
            return undefined;
          });
          return { ws, stats };
        }),
      );
      reply.header('content-type', PROMETHEUS_CONTENT_TYPE);
      return exposition(ctx.driver.name, scraped, errorsSeen);
    },
  );
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Whether a peer address is this machine's loopback. */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

/** Who may scrape: with a token, whoever presents it (compared in constant time); without, loopback callers only. */
function scraperCheck(token: string | undefined): (req: IncomingMessage) => void {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = token === undefined || token === '' ? undefined : digest(token);
  return (req) => {
    if (expected === undefined) {
      if (isLoopback(req.socket.remoteAddress)) return;
      throw new AppError(
        'forbidden',
        '/metrics answers loopback callers only; set a metrics token (COVE_METRICS_TOKEN) to scrape it from elsewhere',
      );
    }
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer === undefined || !timingSafeEqual(digest(bearer), expected)) {
      throw new AppError('unauthorized', 'a valid metrics token is required: Authorization: Bearer <metrics token>');
    }
  };
}
