/**
 * Result adapters of the tool registry: declarative conversions from the shape a
 * third-party tool returns to the output schema of the capability it serves. One
 * adapter per well-known wire format (not per server): `prometheus-matrix` reads the
 * data of Prometheus' HTTP API (and of everything that speaks it: Thanos, Mimir,
 * VictoriaMetrics, Cortex). The gate validates the adapted value against the
 * capability's output schema afterwards. Pure: no I/O.
 */
import { z } from 'zod';
import type { ResultAdapter } from '../schemas/config.js';
import type { MetricSeries } from '../schemas/telemetry.js';

/** Thrown when a tool result does not have the shape its adapter reads. */
export class ResultAdapterError extends Error {
  override readonly name = 'ResultAdapterError';
}

/** What an adapter knows about the call that produced the result. */
export interface AdapterContext {
  /** The capability's arguments merged with the fan-out entry's variables. */
  vars: Readonly<Record<string, unknown>>;
}

function at(payload: unknown, path: string | undefined): unknown {
  if (!path) return payload;
  let cur = payload;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || !(key in cur)) throw new ResultAdapterError(`the result has no "${path}"`);
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

// Prometheus HTTP API: https://prometheus.io/docs/prometheus/latest/querying/api/#expression-query-result-formats
const PromSample = z.tuple([z.number(), z.string()]);
const PromLabels = z.record(z.string(), z.string());
const PromQueryData = z.discriminatedUnion('resultType', [
  z.object({ resultType: z.literal('matrix'), result: z.array(z.object({ metric: PromLabels, values: z.array(PromSample) })) }),
  z.object({ resultType: z.literal('vector'), result: z.array(z.object({ metric: PromLabels, value: PromSample })) }),
]);

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Prometheus query data -> `{ series }`. Service from `serviceLabel` (else the `service`
 * variable), instance from `instanceLabel` (else empty), metric from the `metric` variable
 * (a fan-out entry's indicator name, or the caller's) else `metricLabel`. Sample values are
 * strings on the wire; NaN and ±Inf samples (e.g. 0/0 error ratios) are dropped.
 */
function prometheusMatrix(adapter: Extract<ResultAdapter, { format: 'prometheus-matrix' }>, payload: unknown, ctx: AdapterContext): { series: MetricSeries[] } {
  const parsed = PromQueryData.safeParse(at(payload, adapter.path));
  if (!parsed.success) {
    throw new ResultAdapterError(`not Prometheus query data (prometheus-matrix): ${z.prettifyError(parsed.error)}`);
  }
  const data = parsed.data;
  const rows = data.resultType === 'matrix' ? data.result : data.result.map((r) => ({ metric: r.metric, values: [r.value] }));
  const series = rows.map((row): MetricSeries => {
    const points: [number, number][] = [];
    for (const [t, v] of row.values) {
      const value = Number(v);
      if (Number.isFinite(value)) points.push([t, value]);
    }
    return {
      service: row.metric[adapter.serviceLabel] ?? asString(ctx.vars['service']) ?? '',
      instance: row.metric[adapter.instanceLabel] ?? '',
      metric: asString(ctx.vars['metric']) ?? row.metric[adapter.metricLabel] ?? '',
      points,
    };
  });
  return { series };
}

/** Applies a binding's result adapter (none: the result is used as it is). */
export function adaptResult(adapter: ResultAdapter | undefined, payload: unknown, ctx: AdapterContext): unknown {
  if (!adapter) return payload;
  switch (adapter.format) {
    case 'vigil':
      return at(payload, adapter.path);
    case 'prometheus-matrix':
      return prometheusMatrix(adapter, payload, ctx);
  }
}

/** What a fan-out with no matching entry returns, for capabilities whose output is a list. */
export const EMPTY_RESULTS: Readonly<Record<string, unknown>> = {
  'metrics.query_range': { series: [] },
  'logs.search': { logs: [], truncated: false },
  'traces.search': { spans: [], truncated: false },
};

/** Concatenates the results of a fan-out: arrays concatenated, booleans or-ed, other fields from the first. */
export function mergeResults(results: readonly unknown[]): unknown {
  if (results.length === 1) return results[0];
  const out: Record<string, unknown> = {};
  for (const r of results) {
    if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new ResultAdapterError('fan-out results must be objects to be concatenated');
    for (const [k, v] of Object.entries(r)) {
      const prev = out[k];
      if (Array.isArray(prev) && Array.isArray(v)) out[k] = [...(prev as unknown[]), ...(v as unknown[])];
      else if (typeof prev === 'boolean' && typeof v === 'boolean') out[k] = prev || v;
      else if (!(k in out)) out[k] = v;
    }
  }
  return out;
}
