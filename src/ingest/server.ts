/**
 * The ingest HTTP server (node:http): receives alerts from Alertmanager and generic
 * senders, validates them, groups them into batches and hands all batches of a
 * request to the AlertSink in one call. Answers 202 only once the sink has them.
 *
 * Routes:
 *   POST /v1/alerts/alertmanager  Alertmanager webhook (version 4)
 *   POST /v1/alerts               generic format (GENERIC-FORMAT.md)
 *   GET  /healthz                 200 while the process is up
 *   GET  /readyz                  200 if sink.ready(), else 503
 *   GET  /metrics                 Prometheus text format
 * Auth (when configured) applies to the POST routes only.
 * Logging: sender-supplied text (group keys, field paths) only under the fixed key `data`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { prettifyError, type ZodError } from 'zod';
import type { Alert, AlertBatch } from '../schemas/alert.js';
import { SinkUnavailableError, type AlertSink, type DeliveredBatch } from './alert-sink.js';
import { AlertmanagerWebhook, normalizeAlertmanager } from './alertmanager-schema.js';
import { createAuthenticator, SIGNATURE_HEADER, type Authenticator } from './auth.js';
import { IngestConfig, type IngestConfigInput } from './config.js';
import { IngestError, type ErrorBody } from './errors.js';
import { capIssues, issuesMessage, payloadErrorMap, toPayloadIssues } from './format-issues.js';
import { normalizeGeneric, parseGenericPayload } from './generic-schema.js';
import { groupAlertmanagerAlerts, groupGenericAlerts } from './grouping.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';
import { Registry } from './metrics.js';
import { readBody } from './read-body.js';

/** Paths to give the root pino logger's `redact` option, should anything ever log request headers. */
export const INGEST_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  `req.headers["${SIGNATURE_HEADER}"]`,
  'headers.authorization',
  `headers["${SIGNATURE_HEADER}"]`,
];

/** Seconds a sender is asked to wait before retrying after a 503. */
const RETRY_AFTER_SECONDS = '5';

/** How long close() waits for in-flight requests before cutting connections. */
const CLOSE_GRACE_MS = 5_000;

/** How long we keep discarding a body we refused before cutting the connection. */
const LINGER_MS = 1_000;

export interface IngestServerOptions extends IngestConfigInput {
  /** Where accepted alerts go. */
  sink: AlertSink;
  /** Root logger; the server logs through child loggers of it. */
  logger: Logger;
  /** Clock for receivedAt and default startsAt. @default () => new Date() */
  now?: () => Date;
  /** Registry for the ingest metrics (share one per process). @default a new Registry */
  registry?: Registry;
}

export interface IngestServer {
  /** Starts listening. @default host '127.0.0.1'. Port 0 picks a free port; `url` says which. */
  listen(port: number, host?: string): Promise<{ url: string }>;
  /** Stops accepting, lets in-flight requests finish (up to 5 s), closes every connection, then the sink. */
  close(): Promise<void>;
  /** The registry the ingest metrics live in. */
  readonly registry: Registry;
  /** The ingest metrics themselves (what /metrics renders). */
  readonly metrics: IngestMetrics;
  /** The node:http request listener, for mounting on another server. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

type RouteName = 'alertmanager' | 'generic' | 'healthz' | 'readyz' | 'metrics';

interface Route {
  name: RouteName;
  methods: readonly string[];
}

const ROUTES = new Map<string, Route>([
  ['/v1/alerts/alertmanager', { name: 'alertmanager', methods: ['POST'] }],
  ['/v1/alerts', { name: 'generic', methods: ['POST'] }],
  ['/healthz', { name: 'healthz', methods: ['GET', 'HEAD'] }],
  ['/readyz', { name: 'readyz', methods: ['GET', 'HEAD'] }],
  ['/metrics', { name: 'metrics', methods: ['GET', 'HEAD'] }],
]);

/** The 202 body. */
export interface AcceptedBody {
  accepted: number;
  incidents: { id: string; fingerprints: string[] }[];
}

interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
}

const json = (status: number, body: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body: JSON.stringify(body),
  contentType: 'application/json; charset=utf-8',
  ...(headers ? { headers } : {}),
});

/** application/json, or any application/<x>+json; parameters (charset) are ignored. */
export function isJsonContentType(value: string): boolean {
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9!#$&^_.-]+\+json$/.test(type);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

function unauthorized(): IngestError {
  return new IngestError(
    'VIGIL_UNAUTHORIZED',
    `missing or invalid credentials: send "Authorization: Bearer <token>" or "X-Vigil-Signature: sha256=<hex HMAC of the body>"`,
    undefined,
    { 'www-authenticate': 'Bearer realm="vigil"' },
  );
}

/** One incident entry per incident id, fingerprints merged in order, without duplicates. */
function incidentsOf(delivered: readonly DeliveredBatch[]): AcceptedBody['incidents'] {
  const byId = new Map<string, Set<string>>();
  for (const d of delivered) {
    const set = byId.get(d.incidentId) ?? new Set<string>();
    for (const fp of d.fingerprints) set.add(fp);
    byId.set(d.incidentId, set);
  }
  return [...byId].map(([id, fps]) => ({ id, fingerprints: [...fps] }));
}

export function createIngestServer(options: IngestServerOptions): IngestServer {
  const parsedConfig = IngestConfig.safeParse({
    maxBodyBytes: options.maxBodyBytes,
    groupBy: options.groupBy,
    auth: options.auth,
    requestTimeoutMs: options.requestTimeoutMs,
    readyTimeoutMs: options.readyTimeoutMs,
  });
  if (!parsedConfig.success) throw new Error(`invalid ingest server options:\n${prettifyError(parsedConfig.error)}`);
  const config = parsedConfig.data;
  const { sink } = options;
  const now = options.now ?? (() => new Date());
  const registry = options.registry ?? new Registry();
  const metrics: IngestMetrics = createIngestMetrics(registry);
  const auth: Authenticator = createAuthenticator(config.auth);
  const log = options.logger.child({ component: 'ingest' });

  async function ingest(kind: 'alertmanager' | 'generic', req: IncomingMessage, reqLog: Logger, state: { bodyRead: boolean }): Promise<Reply> {
    const check = auth.checkHeaders(req.headers);
    if (check.result === 'denied') throw unauthorized();

    const contentType = req.headers['content-type'];
    if (contentType !== undefined && !isJsonContentType(contentType)) {
      throw new IngestError('VIGIL_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json (got ${JSON.stringify(contentType)})`);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') {
      throw new IngestError('VIGIL_UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not supported; send the body uncompressed`);
    }

    const raw = await readBody(req, config.maxBodyBytes);
    state.bodyRead = true;
    if (check.result === 'needs-body' && !auth.verifyBody(req.headers, raw)) throw unauthorized();

    if (raw.length === 0) throw new IngestError('VIGIL_INVALID_JSON', 'request body is empty');
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new IngestError('VIGIL_INVALID_JSON', `request body is not valid JSON: ${(err as Error).message}`);
    }

    const receivedAt = now();
    let alerts: Alert[];
    let batches: AlertBatch[];
    if (kind === 'alertmanager') {
      const parsed = AlertmanagerWebhook.safeParse(body, { error: payloadErrorMap });
      if (!parsed.success) throw invalidPayload(parsed.error, reqLog);
      if (parsed.data.truncatedAlerts > 0) {
        reqLog.warn({ truncatedAlerts: parsed.data.truncatedAlerts }, 'Alertmanager left alerts out of this notification (max_alerts)');
      }
      alerts = normalizeAlertmanager(parsed.data, receivedAt);
      batches = groupAlertmanagerAlerts(parsed.data.groupKey, alerts, config.groupBy);
    } else {
      const parsed = parseGenericPayload(body, { error: payloadErrorMap });
      if (!parsed.success) throw invalidPayload(parsed.error, reqLog);
      alerts = normalizeGeneric(parsed.data, receivedAt);
      batches = groupGenericAlerts(alerts, config.groupBy);
    }
    for (const a of alerts) metrics.alertsReceived.inc({ source: a.source, status: a.status });

    let delivered: DeliveredBatch[];
    try {
      delivered = await sink.deliver(batches);
    } catch (err) {
      const retry = { 'retry-after': RETRY_AFTER_SECONDS };
      if (err instanceof SinkUnavailableError) {
        reqLog.warn({ err, batches: batches.length }, 'backend unavailable; nothing delivered');
        throw new IngestError('VIGIL_BACKEND_UNAVAILABLE', 'the orchestrator backend is unavailable; retry later', undefined, retry);
      }
      reqLog.error({ err, batches: batches.length }, 'delivery failed; nothing delivered');
      throw new IngestError('VIGIL_DELIVERY_FAILED', 'handing the alerts to the orchestrator failed; retry later', undefined, retry);
    }
    // One batch per group key; its answer may be split by incident.
    const leased = new Set(delivered.filter((d) => d.via === 'lease').map((d) => d.groupKey)).size;
    if (leased > 0) metrics.batchesDelivered.inc({ via: 'lease' }, leased);
    if (batches.length > leased) metrics.batchesDelivered.inc({ via: 'group' }, batches.length - leased);

    const incidents = incidentsOf(delivered);
    reqLog.info(
      {
        accepted: alerts.length,
        batches: batches.length,
        incidentIds: incidents.map((i) => i.id),
        deliveryIds: batches.map((b) => b.deliveryId),
        data: { groupKeys: batches.map((b) => b.groupKey) },
      },
      'alerts accepted',
    );
    const accepted: AcceptedBody = { accepted: alerts.length, incidents };
    return json(202, accepted);
  }

  function invalidPayload(error: ZodError, reqLog: Logger): IngestError {
    const issues = toPayloadIssues(error);
    reqLog.info({ code: 'VIGIL_INVALID_PAYLOAD', data: { issues: capIssues(issues) } }, 'payload rejected');
    return new IngestError('VIGIL_INVALID_PAYLOAD', `invalid payload: ${issuesMessage(issues)}`, capIssues(issues));
  }

  async function readyz(): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), config.readyTimeoutMs);
    });
    let ready: boolean;
    try {
      ready = await Promise.race([sink.ready(), timeout]);
    } catch (err) {
      log.warn({ err }, 'readiness check failed');
      ready = false;
    } finally {
      clearTimeout(timer);
    }
    if (ready) return json(200, { status: 'ready' });
    const err = new IngestError('VIGIL_BACKEND_UNAVAILABLE', 'the orchestrator backend is not ready', undefined, {
      'retry-after': RETRY_AFTER_SECONDS,
    });
    return json(err.status, err.toBody(), err.headers);
  }

  async function route(route: Route, req: IncomingMessage, reqLog: Logger, state: { bodyRead: boolean }): Promise<Reply> {
    switch (route.name) {
      case 'alertmanager':
      case 'generic':
        return ingest(route.name, req, reqLog, state);
      case 'healthz':
        return json(200, { status: 'ok' });
      case 'readyz':
        return readyz();
      case 'metrics':
        return { status: 200, body: registry.render(), contentType: registry.contentType };
    }
  }

  /** Refusing a body we did not read: close the connection after the reply, discarding what still arrives for a moment. */
  function lingerAndClose(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('connection', 'close');
    res.once('finish', () => {
      if (req.complete) return;
      const timer = setTimeout(() => req.destroy(), LINGER_MS);
      timer.unref();
      req.once('end', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
      req.resume();
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stopTimer = process.hrtime.bigint();
    const requestId = randomUUID();
    let path = '';
    try {
      path = new URL(req.url ?? '/', 'http://localhost').pathname;
    } catch {
      path = '';
    }
    const matched = ROUTES.get(path);
    const routeLabel = matched ? path : 'unmatched';
    const reqLog = log.child({ requestId, route: matched?.name ?? 'unmatched' });
    const state = { bodyRead: false };
    let reply: Reply;

    try {
      if (!matched) throw new IngestError('VIGIL_NOT_FOUND', `no route for ${req.method ?? ''} ${path}`);
      if (!matched.methods.includes(req.method ?? '')) {
        throw new IngestError('VIGIL_METHOD_NOT_ALLOWED', `${path} accepts ${matched.methods.join(', ')}`, undefined, {
          allow: matched.methods.join(', '),
        });
      }
      reply = await route(matched, req, reqLog, state);
    } catch (err) {
      if (res.destroyed || req.socket.destroyed) {
        reqLog.debug({ err }, 'client went away');
        metrics.requests.inc({ route: routeLabel, code: 'aborted' });
        return;
      }
      if (err instanceof IngestError) {
        reply = json(err.status, err.toBody(), err.headers);
        if (err.status === 401) reqLog.info({ code: err.code }, 'unauthorized request');
      } else {
        reqLog.error({ err }, 'unexpected error');
        const body: ErrorBody = { error: { code: 'VIGIL_INTERNAL_ERROR', message: `internal error (request id ${requestId})` } };
        reply = json(500, body);
      }
    }

    if (!state.bodyRead && hasBody(req) && !req.complete) lingerAndClose(req, res);
    res.setHeader('x-request-id', requestId);
    res.setHeader('cache-control', 'no-store');
    for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
    res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(reply.body) });
    res.end(reply.body);

    const seconds = Number(process.hrtime.bigint() - stopTimer) / 1e9;
    metrics.requests.inc({ route: routeLabel, code: reply.status });
    metrics.latency.observe({ route: routeLabel }, seconds);
    const level = matched?.methods.includes('POST') || reply.status >= 500 ? 'info' : 'debug';
    reqLog[level]({ method: req.method, status: reply.status, ms: Math.round(seconds * 1000) }, 'request');
  }

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err }, 'request handler crashed');
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ error: { code: 'VIGIL_INTERNAL_ERROR', message: 'internal error' } }));
      } else {
        res.destroy();
      }
    });
  };

  let server: Server | undefined;

  return {
    registry,
    metrics,
    handler,
    listen(port, host = '127.0.0.1') {
      if (server) return Promise.reject(new Error('ingest server is already listening'));
      const s = createServer(handler);
      s.requestTimeout = config.requestTimeoutMs;
      s.headersTimeout = Math.min(s.headersTimeout, config.requestTimeoutMs);
      server = s;
      return new Promise((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          const addr = s.address() as AddressInfo;
          const shown = addr.address === '0.0.0.0' ? '127.0.0.1' : addr.address === '::' ? '::1' : addr.address;
          const url = `http://${shown.includes(':') ? `[${shown}]` : shown}:${addr.port}`;
          log.info({ url, host: addr.address, port: addr.port }, 'ingest server listening');
          resolve({ url });
        });
      });
    },
    async close() {
      const s = server;
      server = undefined;
      if (s?.listening) await closeServer(s);
      await sink.close?.();
    },
  };
}

/** Stops accepting, lets in-flight requests finish (up to CLOSE_GRACE_MS), then closes every connection. */
function closeServer(s: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => s.closeAllConnections(), CLOSE_GRACE_MS);
    force.unref();
    s.close((err) => {
      clearTimeout(force);
      if (err) reject(err);
      else resolve();
    });
    s.closeIdleConnections();
  });
}
