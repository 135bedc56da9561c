/**
 * Trace generation: a few sampled requests every 10 seconds, each walking the call
 * graph from an entry service through one of its callees and everything below it.
 * Span durations follow each service's latency under its own faults; a failing
 * span is `error` and the failure propagates up to its callers (mostly).
 */
import type { Span } from '../schemas/telemetry.js';
import { hash, hexId, pick, uniform } from './random.js';
import { consumeOperation, operationsOf, PROPAGATING_EDGE_KINDS, ROUTE_OPERATIONS } from './system.js';
import { round, type World } from './world.js';

export const TRACE_BUCKET_SECONDS = 10;
/** Sampled traces per bucket. */
export const TRACES_PER_BUCKET = 3;
/** Callers give up on a callee after this long. */
export const CALL_TIMEOUT_MS = 3000;

export interface TracesQuery {
  start: number;
  end: number;
  service?: string | undefined;
  limit: number;
}

interface Built {
  spans: Span[];
  endMs: number;
  error: boolean;
  touches: Set<string>;
}

class TraceBuilder {
  private counter = 0;
  readonly spans: Span[] = [];
  readonly touches = new Set<string>();

  constructor(
    private readonly world: World,
    private readonly traceId: string,
    private readonly base: number,
  ) {}

  /** One span of `service` starting at `startMs` (epoch ms); returns its end and whether it failed. */
  span(service: string, parentSpanId: string | null, startMs: number, depth: number, operation?: string): { endMs: number; error: boolean } | undefined {
    const def = this.world.service(service);
    const t = startMs / 1000;
    const instances = this.world.instancesAt(service, t);
    if (instances.length === 0 || depth > 12) return undefined;
    const spanId = hexId(this.base, 8, 'span', this.counter++);
    const u = (label: string): number => uniform(this.base, spanId, label);
    const impact = this.world.effects.impact(this.world.sources, service, t, { ownOnly: true });
    const ownMs = def.latencyP99 * 1000 * (0.12 + 0.28 * u('own')) * (u('tail') < 0.02 ? 3 : 1) + impact.latency * 1000 * (0.6 + 0.4 * u('slow'));
    let error = u('err') < def.errorRate + impact.error;
    let cursor = startMs + ownMs * 0.3;
    const index = this.spans.length;
    this.spans.push({ trace_id: this.traceId, span_id: spanId, parent_span_id: parentSpanId, service, instance: pick(instances, u('instance')), operation: operation ?? pick(operationsOf(def), u('op')), start: 0, duration_ms: 0, status: null });
    this.touches.add(service);
    const asyncChildren: string[] = [];
    for (const edge of this.world.system.def.edges) {
      if (edge.source !== service) continue;
      if (!PROPAGATING_EDGE_KINDS.includes(edge.kind)) {
        asyncChildren.push(edge.target);
        continue;
      }
      const child = this.span(edge.target, spanId, cursor + 0.2, depth + 1);
      if (!child) {
        cursor += 1 + u(`refused-${edge.target}`); // connection refused: no instance
        if (u(`prop-${edge.target}`) < 0.9) error = true;
        continue;
      }
      const took = child.endMs - cursor;
      if (took > CALL_TIMEOUT_MS) {
        cursor += CALL_TIMEOUT_MS;
        error = true;
      } else {
        cursor = child.endMs + 0.1;
        if (child.error && u(`prop-${edge.target}`) < 0.85) error = true;
      }
    }
    const endMs = cursor + ownMs * 0.7;
    // A server that held a request past the callers' timeout mostly answers 503/504 itself.
    if (ownMs > CALL_TIMEOUT_MS && u('server-timeout') < 0.8) error = true;
    const self = this.spans[index];
    if (self) {
      self.start = round(startMs / 1000, 6);
      self.duration_ms = round(endMs - startMs, 3);
      self.status = error ? 'error' : 'ok';
    }
    for (const target of asyncChildren) this.span(target, spanId, endMs + 50 + 350 * u(`async-${target}`), depth + 1, consumeOperation(service));
    return { endMs, error };
  }
}

/** Entry points: services nobody calls. */
function entryServices(world: World): string[] {
  const called = new Set(world.system.def.edges.map((e) => e.target));
  return world.system.def.services.map((s) => s.name).filter((s) => !called.has(s));
}

function buildTrace(world: World, bucket: number, n: number): Built | undefined {
  const base = hash(world.seed, 'trace', bucket, n);
  const traceId = hexId(base, 16, 'id');
  const entry = pick(entryServices(world), uniform(base, 'entry'));
  if (entry === undefined) return undefined;
  const startMs = (bucket * TRACE_BUCKET_SECONDS + uniform(base, 'at') * TRACE_BUCKET_SECONDS) * 1000;
  // The entry span calls one of its callees (one user request), which fans out fully.
  const routes = world.system.def.edges.filter((e) => e.source === entry);
  const route = routes.length > 0 ? pick(routes, uniform(base, 'route')) : undefined;
  const b = new TraceBuilder(world, traceId, base);
  const entryDef = world.service(entry);
  const instances = world.instancesAt(entry, startMs / 1000);
  if (instances.length === 0) return undefined;
  const rootId = hexId(base, 8, 'root');
  const ownMs = entryDef.latencyP99 * 1000 * (0.1 + 0.2 * uniform(base, 'own'));
  const rootImpact = world.effects.impact(world.sources, entry, startMs / 1000, { ownOnly: true });
  let error = uniform(base, 'err') < entryDef.errorRate + rootImpact.error;
  let endMs = startMs + ownMs + rootImpact.latency * 1000 * 0.8;
  if (route) {
    const child = b.span(route.target, rootId, startMs + ownMs * 0.4, 1);
    if (!child) error = true;
    else {
      endMs = Math.min(child.endMs, startMs + ownMs * 0.4 + CALL_TIMEOUT_MS * 2) + ownMs * 0.6 + rootImpact.latency * 1000 * 0.8;
      if (child.error && uniform(base, 'prop') < 0.9) error = true;
    }
  }
  const op = (route && ROUTE_OPERATIONS[`${entry}->${route.target}`]) ?? pick(operationsOf(entryDef), uniform(base, 'op'));
  const root: Span = {
    trace_id: traceId,
    span_id: rootId,
    parent_span_id: null,
    service: entry,
    instance: pick(instances, uniform(base, 'instance')),
    operation: op,
    start: round(startMs / 1000, 6),
    duration_ms: round(endMs - startMs, 3),
    status: error ? 'error' : 'ok',
  };
  return { spans: [root, ...b.spans], endMs, error, touches: new Set([entry, ...b.touches]) };
}

export function searchTraces(world: World, q: TracesQuery): { spans: Span[]; truncated: boolean } {
  if (q.service) world.service(q.service);
  const traces: Built[] = [];
  const first = Math.floor(q.start / TRACE_BUCKET_SECONDS);
  const last = Math.floor(q.end / TRACE_BUCKET_SECONDS);
  for (let bucket = first; bucket <= last; bucket++) {
    for (let n = 0; n < TRACES_PER_BUCKET; n++) {
      const trace = buildTrace(world, bucket, n);
      const root = trace?.spans[0];
      if (!trace || !root || root.start < q.start || root.start > q.end) continue;
      if (q.service && !trace.touches.has(q.service)) continue;
      traces.push(trace);
    }
  }
  traces.sort((a, b) => (a.spans[0]?.start ?? 0) - (b.spans[0]?.start ?? 0));
  // Keep the newest whole traces that fit in `limit` spans.
  const kept: Built[] = [];
  let count = 0;
  let truncated = false;
  for (let i = traces.length - 1; i >= 0; i--) {
    const t = traces[i];
    if (!t) continue;
    if (count + t.spans.length > q.limit) {
      truncated = true;
      break;
    }
    kept.push(t);
    count += t.spans.length;
  }
  kept.reverse();
  return { spans: kept.flatMap((t) => t.spans), truncated };
}
