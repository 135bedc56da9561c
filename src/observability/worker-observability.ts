/**
 * Everything observability adds to a vigil worker, assembled in one place so that
 * create-worker.ts only wires it: incident metrics (+ drift, + diagnosis accuracy from the
 * knowledge store's labelled incidents) behind GET /metrics, the
 * activity wrapper that feeds them, activity logging with incident/workflow ids, and
 * OpenTelemetry interceptors and sinks when tracing is on.
 */
import { join, resolve } from 'node:path';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';
import type { EvidenceStore } from '../evidence/evidence-store.js';
import type { KnowledgeStore } from '../knowledge/knowledge-store.js';
import { createLogger, type Logger } from '../logger.js';
import { activityLoggingInterceptor } from './activity-logging.js';
import { ObservabilityConfig, type ObservabilityConfigInput } from './config.js';
import { AccuracyMonitor } from './accuracy-monitor.js';
import { DriftMonitor } from './drift-monitor.js';
import { IncidentMetrics } from './incident-metrics.js';
import { instrumentActivities } from './instrument-activities.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { createTracing, type Tracing } from './tracing.js';

export interface WorkerObservabilityOptions {
  /** The worker's logger (activity child loggers derive from it). @default a pino logger named vigil-worker */
  logger?: Logger;
  /** Overrides `observability.metricsPort` (`vigil worker` passes its production default). */
  metricsPort?: number | false;
  /** Overrides `observability.metricsHost` (dev and tests listen on 127.0.0.1 only). */
  metricsHost?: string;
  /** Turns tracing on with this processor whatever the config says (tests: an in-memory exporter). */
  spanProcessor?: SpanProcessor;
  /** Drift webhook delivery (tests shorten the retries). */
  webhookOptions?: { attempts?: number; backoffMs?: number; timeoutMs?: number };
}

export interface WorkerObservability {
  config: ObservabilityConfig;
  metrics: IncidentMetrics;
  drift: DriftMonitor;
  tracing: Tracing | undefined;
  /** Where GET /metrics is served; undefined when off. */
  metricsUrl: string | undefined;
  /** Wraps the worker's activities (see instrument-activities.ts). */
  instrument<A extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: A): A;
  /** Spread into Worker.create options. */
  workerOptions: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** For the worker's own Client; undefined without tracing. */
  clientInterceptors: ClientInterceptors | undefined;
  close(): Promise<void>;
}

export async function startWorkerObservability(
  input: { observability?: ObservabilityConfigInput | undefined; dataDir: string },
  deps: {
    evidence?: Pick<EvidenceStore, 'toolCalls'>;
    /** Where the labelled closed incidents are read for the diagnosis-accuracy SLIs; absent: those SLIs are not served. */
    knowledge?: Pick<KnowledgeStore, 'listIncidents' | 'location'>;
  },
  opts: WorkerObservabilityOptions = {},
): Promise<WorkerObservability> {
  const config = ObservabilityConfig.parse(input.observability ?? {});
  const logger = opts.logger ?? createLogger({ name: 'vigil-worker' });
  const drift = new DriftMonitor({
    config: config.drift,
    file: join(resolve(input.dataDir), 'observability', 'sli-samples.jsonl'),
    logger,
    ...(opts.webhookOptions ? { webhookOptions: opts.webhookOptions } : {}),
  });
  await drift.load();
  const accuracy = deps.knowledge ? new AccuracyMonitor({ store: deps.knowledge, config: config.accuracy, logger }) : undefined;
  const metrics = new IncidentMetrics(config, { drift, ...(accuracy ? { accuracy } : {}) });
  const tracing = createTracing(config.tracing, opts.spanProcessor ? { spanProcessor: opts.spanProcessor } : {});

  const port = opts.metricsPort ?? config.metricsPort;
  let server: MetricsServer | undefined;
  if (port !== undefined && port !== false) {
    server = await startMetricsServer({ port, host: opts.metricsHost ?? config.metricsHost, render: () => metrics.renderFresh() });
  }

  return {
    config,
    metrics,
    drift,
    tracing,
    metricsUrl: server?.url,
    instrument: (activities) => instrumentActivities(activities, { metrics, logger, ...(deps.evidence ? { evidence: deps.evidence } : {}) }),
    workerOptions: {
      interceptors: {
        activity: [activityLoggingInterceptor(logger), ...(tracing?.activityInterceptors ?? [])],
        ...(tracing ? { workflowModules: tracing.workflowModules } : {}),
      },
      ...(tracing ? { sinks: tracing.sinks } : {}),
    },
    clientInterceptors: tracing?.clientInterceptors,
    async close() {
      await server?.close();
      await tracing?.shutdown().catch(() => undefined);
    },
  };
}
