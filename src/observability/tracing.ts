/**
 * OpenTelemetry tracing through Temporal's interceptors (@temporalio/interceptors-opentelemetry):
 * client spans (start, signal, query, update), workflow spans (via the workflow
 * interceptor module and an injected span-exporter sink) and activity spans, linked
 * across processes by W3C trace context in Temporal headers. Off by default; the
 * exporter is OTLP over HTTP or the console.
 *
 * Workflow spans need the interceptor module in the workflow bundle: a worker built from
 * `workflowsPath` gets it; a pre-built bundle must be built with
 * `workflowInterceptorModules: [WORKFLOW_TRACING_MODULE]`, else only client and activity
 * spans are produced.
 */
import { createRequire } from 'node:module';
import * as otel from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { TracingConfig } from './config.js';

/** The workflow interceptor module, for `bundleWorkflowCode({ workflowInterceptorModules })`. */
export const WORKFLOW_TRACING_MODULE = createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

export interface Tracing {
  tracer: otel.Tracer;
  /** For the worker's `interceptors`. */
  activityInterceptors: ActivityInterceptorsFactory[];
  workflowModules: string[];
  /** For the worker's `sinks`: where workflow spans leave the sandbox. */
  sinks: NonNullable<WorkerOptions['sinks']>;
  /** For every Client (`new Client({ interceptors })`) and the worker's own client. */
  clientInterceptors: ClientInterceptors;
  /** Flushes and stops the exporter. */
  shutdown(): Promise<void>;
}

export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
}

/** The configured span processor, or undefined when tracing is off. */
export function spanProcessorFor(config: TracingConfig): SpanProcessor | undefined {
  switch (config.exporter) {
    case 'off':
      return undefined;
    case 'console':
      return new SimpleSpanProcessor(new ConsoleSpanExporter());
    case 'otlp':
      if (!config.otlpEndpoint) throw new TracingConfigError('observability.tracing.exporter is otlp but otlpEndpoint is not set');
      return new BatchSpanProcessor(new OTLPTraceExporter({ url: config.otlpEndpoint, headers: config.otlpHeaders }));
  }
}

/**
 * Builds tracing from the configuration, or from an explicit span processor (tests:
 * an InMemorySpanExporter). Returns undefined when tracing is off.
 */
export function createTracing(config: TracingConfig, opts: { spanProcessor?: SpanProcessor } = {}): Tracing | undefined {
  const processor = opts.spanProcessor ?? spanProcessorFor(config);
  if (!processor) return undefined;
  const resource = new Resource({ 'service.name': config.serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // Trace context crosses processes in Temporal headers, through the global propagator.
  otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracer = provider.getTracer('vigil');
  const options = { tracer };
  return {
    tracer,
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, options),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    workflowModules: [WORKFLOW_TRACING_MODULE],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    clientInterceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor(options)] },
    shutdown: () => provider.shutdown(),
  };
}
