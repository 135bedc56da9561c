/**
 * Parsers for the data files of a case bundle (../shared/datasets/FORMAT.md):
 * long-format metrics CSV, logs and traces as JSON lines, topology.json (whose
 * `services` may be plain strings), and a call graph derived from traces for cases
 * without a topology. Pure functions over text; the caller reads (and gunzips) files.
 */
import { z } from 'zod';
import { LogRecord, Span, Topology, type MetricSeries } from '../schemas/telemetry.js';
import { InvalidDataError } from './errors.js';

const METRIC_COLUMNS = ['timestamp', 'service', 'instance', 'metric', 'value'] as const;

/** Splits one CSV line (RFC 4180 quoting; fast path without quotes). */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

/**
 * Long-format metrics (`timestamp,service,instance,metric,value`, columns in any
 * order) → one series per service/instance/metric, points sorted by time. Rows with
 * an empty or non-numeric value are skipped (sources leave gaps); a row with a bad
 * timestamp or the wrong number of fields is an error.
 */
export function parseMetricsCsv(text: string, file: string): MetricSeries[] {
  const lines = text.split('\n');
  const header = splitCsvLine((lines[0] ?? '').replace(/\r$/, '').trim()).map((h) => h.trim());
  const index = METRIC_COLUMNS.map((c) => header.indexOf(c));
  const missing = METRIC_COLUMNS.filter((_, i) => index[i] === -1);
  if (missing.length > 0) throw new InvalidDataError(file, `header lacks ${missing.join(', ')} (got "${header.join(',')}")`, 1);
  const [ti, si, ii, mi, vi] = index as [number, number, number, number, number];
  const byKey = new Map<string, MetricSeries>();
  for (let n = 1; n < lines.length; n++) {
    const line = (lines[n] ?? '').replace(/\r$/, '');
    if (line.trim() === '') continue;
    const f = splitCsvLine(line);
    if (f.length !== header.length) throw new InvalidDataError(file, `expected ${header.length} fields, got ${f.length}`, n + 1);
    const t = Number(f[ti]);
    if (f[ti] === '' || !Number.isFinite(t)) throw new InvalidDataError(file, `timestamp "${f[ti] ?? ''}" is not a number`, n + 1);
    const raw = f[vi] ?? '';
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) continue;
    const service = f[si] ?? '';
    const metric = f[mi] ?? '';
    if (!service || !metric) throw new InvalidDataError(file, 'empty service or metric', n + 1);
    const instance = f[ii] ?? '';
    const key = `${service}\u0000${instance}\u0000${metric}`;
    let s = byKey.get(key);
    if (!s) byKey.set(key, (s = { service, instance, metric, points: [] }));
    s.points.push([t, value]);
  }
  const out = [...byKey.values()];
  for (const s of out) s.points.sort((a, b) => a[0] - b[0]);
  return out;
}

function parseJsonLines<T extends z.ZodType>(text: string, file: string, schema: T): z.output<T>[] {
  const out: z.output<T>[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n] ?? '';
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      throw new InvalidDataError(file, `not JSON: ${(err as Error).message}`, n + 1);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new InvalidDataError(file, z.prettifyError(parsed.error).replace(/\n/g, ' '), n + 1);
    out.push(parsed.data);
  }
  return out;
}

/** Span as stored: `instance`, `parent_span_id` and `status` may be absent. */
const StoredSpan = Span.extend({
  parent_span_id: z.string().nullable().default(null),
  status: z.enum(['ok', 'error']).nullable().default(null),
});

/** logs.jsonl → log records sorted by time. */
export function parseLogsJsonl(text: string, file: string): LogRecord[] {
  return parseJsonLines(text, file, LogRecord).sort((a, b) => a.timestamp - b.timestamp);
}

/** traces.jsonl → spans in file order. */
export function parseSpansJsonl(text: string, file: string): Span[] {
  return parseJsonLines(text, file, StoredSpan);
}

/** topology.json as datasets write it: services as names or objects, edges with an optional kind. */
const TopologyFile = z.object({
  services: z.array(z.union([z.string().min(1), z.object({ name: z.string().min(1) }).loose()])),
  edges: z.array(z.object({ source: z.string().min(1), target: z.string().min(1) }).loose()).default([]),
  changes: z.array(z.unknown()).default([]),
});

/**
 * A dataset's topology.json → vigil's Topology: plain service names become
 * `{ name, kind: 'service', instances: [] }`; edge kind defaults to `calls`.
 * Throws a plain Error with a readable message when the shape is wrong.
 */
export function topologyFromJson(raw: unknown): Topology {
  const file = TopologyFile.safeParse(raw);
  if (!file.success) throw new Error(z.prettifyError(file.error));
  const normalized = {
    services: file.data.services.map((s) => (typeof s === 'string' ? { name: s } : s)),
    edges: file.data.edges,
    changes: file.data.changes,
  };
  const parsed = Topology.safeParse(normalized);
  if (!parsed.success) throw new Error(z.prettifyError(parsed.error));
  return parsed.data;
}

/**
 * The call graph observed in spans: caller service → callee service for every
 * parent/child span pair of different services; services = every service in a span.
 */
export function topologyFromSpans(spans: readonly Span[]): Topology {
  const serviceOf = new Map<string, string>();
  const services = new Set<string>();
  for (const s of spans) {
    serviceOf.set(`${s.trace_id}\u0000${s.span_id}`, s.service);
    services.add(s.service);
  }
  const edges = new Set<string>();
  for (const s of spans) {
    if (!s.parent_span_id) continue;
    const caller = serviceOf.get(`${s.trace_id}\u0000${s.parent_span_id}`);
    if (caller && caller !== s.service) edges.add(`${caller}\u0000${s.service}`);
  }
  return {
    services: [...services].sort().map((name) => ({ name, kind: 'service' as const, instances: [] })),
    edges: [...edges].sort().map((k) => {
      const [source = '', target = ''] = k.split('\u0000');
      return { source, target, kind: 'calls' };
    }),
    changes: [],
  };
}
