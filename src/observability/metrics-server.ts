/**
 * The worker's small HTTP server: `GET /metrics` (Prometheus text, vigil's incident
 * metrics and drift gauges) and `GET /healthz`. The Temporal SDK's own worker metrics
 * are served by the SDK's core on their own port (observability.temporalMetricsPort).
 */
import { createServer, type Server } from 'node:http';
import { PROMETHEUS_CONTENT_TYPE } from '../ingest/metrics.js';
import { listenHttp } from '../http/listen-http.js';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** `render` may be async (the diagnosis SLIs are recomputed from the knowledge store when due). */
export async function startMetricsServer(opts: { port: number; host?: string; render: () => string | Promise<string> }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      Promise.resolve()
        .then(() => opts.render())
        .then(
          (body) => res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${(err as Error).message}\n`),
        );
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
  });
  const host = opts.host ?? '0.0.0.0';
  const listening = await listenHttp(server, opts.port, host);
  return {
    url: `${listening.url}/metrics`,
    port: listening.port,
    // Closing twice (shutdown paths overlap) is not an error here.
    close: () => listening.close().catch(() => undefined),
  };
}
