/** The ingest server's metrics, registered on a (possibly shared) Registry. */
import type { Registry } from './metrics.js';

export function createIngestMetrics(registry: Registry) {
  return {
    requests: registry.counter({
      name: 'vigil_ingest_requests_total',
      help: 'HTTP requests to the ingest server, by route and response status code.',
      labelNames: ['route', 'code'] as const,
    }),
    alertsReceived: registry.counter({
      name: 'vigil_alerts_received_total',
      help: 'Valid alerts received, by source and status (firing|resolved).',
      labelNames: ['source', 'status'] as const,
    }),
    latency: registry.histogram({
      name: 'vigil_ingest_latency_seconds',
      help: 'Time from request start to response, including delivery to the backend.',
      labelNames: ['route'] as const,
    }),
    batchesDelivered: registry.counter({
      name: 'vigil_ingest_batches_delivered_total',
      help: 'Alert batches (one per group) handed to the backend, by who named their incident (group: the group answered; lease: its routing lease did).',
      labelNames: ['via'] as const,
    }),
  };
}

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;
