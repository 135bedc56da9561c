/**
 * Trace analysis: per service and operation, the error-rate shift and the shift of
 * the p90 span self time (duration minus the time covered by child spans) between a
 * baseline (spans before incidentStart, or a separate fault-free set) and the
 * incident window; the call graph observed in spans (parent span's service → child
 * span's service); for failing traces the deepest failing span (an error span none
 * of whose children failed), which points at the service where errors originate;
 * and for slow traces the span holding most of the extra time; plus call-rate
 * shifts per edge (a caller that stops calling a callee). Pure and deterministic.
 */
import type { Span } from '../schemas/telemetry.js';
import type { Finding, SourceEvidence } from '../schemas/evidence.js';
import { binomialTail, byScoreThenKey, clockTime, formatNumber, median, quantile, SHIFT_ALPHA } from './robust-stats.js';

export interface CallEdge {
  source: string;
  target: string;
  count: number;
}

export interface AnalyzeTracesInput {
  spans: Span[];
  incidentStart: number;
  /** Optional spans of a separate fault-free period; preferred over spans before incidentStart. */
  baselineSpans?: Span[];
  /** @default 50 */
  maxFindings?: number;
}

export type TraceEvidence = SourceEvidence & { callGraph: CallEdge[] };

/** Minimum spans on each side before a latency or error shift is scored. @default 5 */
export const MIN_SPANS = 5;

interface Indexed {
  span: Span;
  children: Span[];
  selfMs: number;
}

/** Groups spans by trace and computes children and self time of every span. */
export function indexTraces(spans: readonly Span[]): Map<string, Map<string, Indexed>> {
  const traces = new Map<string, Map<string, Indexed>>();
  for (const s of spans) {
    let t = traces.get(s.trace_id);
    if (!t) traces.set(s.trace_id, (t = new Map()));
    t.set(s.span_id, { span: s, children: [], selfMs: s.duration_ms });
  }
  for (const t of traces.values()) {
    for (const node of t.values()) {
      const p = node.span.parent_span_id;
      const parent = p ? t.get(p) : undefined;
      if (parent) parent.children.push(node.span);
    }
    for (const node of t.values()) {
      const childMs = node.children.reduce((a, c) => a + c.duration_ms, 0);
      node.selfMs = Math.max(0, node.span.duration_ms - childMs);
    }
  }
  return traces;
}

/** Caller service → callee service counts, from parent/child spans of different services. */
export function buildCallGraph(spans: readonly Span[]): CallEdge[] {
  const counts = new Map<string, number>();
  for (const t of indexTraces(spans).values()) {
    for (const node of t.values()) {
      for (const c of node.children) {
        if (c.service === node.span.service) continue;
        const k = `${node.span.service}\u0000${c.service}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
    }
  }
  return [...counts.entries()]
    .map(([k, count]) => {
      const [source = '', target = ''] = k.split('\u0000');
      return { source, target, count };
    })
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.target < b.target ? -1 : a.target > b.target ? 1 : 0));
}

/**
 * Deepest failing spans: in every trace with an error span, the error spans none of
 * whose children are errors. Returns per service/operation the number of failing
 * traces ending there, and the number of failing traces.
 */
export function deepestFailingSpans(spans: readonly Span[]): {
  failingTraces: number;
  origins: { service: string; operation: string; instance: string; traces: number }[];
} {
  const counts = new Map<string, { service: string; operation: string; instance: string; traces: number }>();
  let failingTraces = 0;
  for (const t of indexTraces(spans).values()) {
    const seen = new Set<string>();
    for (const node of t.values()) {
      if (node.span.status !== 'error') continue;
      if (node.children.some((c) => c.status === 'error')) continue;
      const k = `${node.span.service}\u0000${node.span.operation}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const e = counts.get(k) ?? { service: node.span.service, operation: node.span.operation, instance: node.span.instance, traces: 0 };
      e.traces++;
      counts.set(k, e);
    }
    if (seen.size > 0) failingTraces++;
  }
  const origins = [...counts.values()].sort(
    (a, b) => b.traces - a.traces || (a.service < b.service ? -1 : a.service > b.service ? 1 : a.operation < b.operation ? -1 : 1),
  );
  return { failingTraces, origins };
}

interface OpStats {
  service: string;
  operation: string;
  n: number;
  errors: number;
  self: number[];
  instances: Map<string, number>;
  first: number;
}

function opStats(index: Map<string, Map<string, Indexed>>, filter: (s: Span) => boolean): Map<string, OpStats> {
  const out = new Map<string, OpStats>();
  const keys = [...index.keys()].sort();
  for (const tid of keys) {
    const t = index.get(tid);
    if (!t) continue;
    for (const node of t.values()) {
      const s = node.span;
      if (!filter(s)) continue;
      const k = `${s.service}\u0000${s.operation}`;
      let o = out.get(k);
      if (!o) out.set(k, (o = { service: s.service, operation: s.operation, n: 0, errors: 0, self: [], instances: new Map(), first: s.start }));
      o.n++;
      if (s.status === 'error') o.errors++;
      o.self.push(node.selfMs);
      o.first = Math.min(o.first, s.start);
      o.instances.set(s.instance, (o.instances.get(s.instance) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * Per caller→callee edge, the self times of client spans whose children all run in
 * the callee. A client span is a span nested in a span of its own service (the
 * caller's server span → its client span → the callee's server span): only then is
 * its self time the time between client and server. A server span whose only children
 * run in one callee (no separate client span recorded) is not one: its self time is
 * the caller's own work.
 */
export function clientGaps(
  index: Map<string, Map<string, Indexed>>,
  filter: (s: Span) => boolean,
): Map<string, { source: string; target: string; gaps: number[] }> {
  const out = new Map<string, { source: string; target: string; gaps: number[] }>();
  for (const tid of [...index.keys()].sort()) {
    const t = index.get(tid);
    if (!t) continue;
    for (const n of t.values()) {
      if (!filter(n.span) || n.children.length === 0) continue;
      const parent = n.span.parent_span_id ? t.get(n.span.parent_span_id) : undefined;
      if (!parent || parent.span.service !== n.span.service) continue;
      const target = n.children[0]?.service;
      if (!target || target === n.span.service || n.children.some((c) => c.service !== target)) continue;
      const k = `${n.span.service}\u0000${target}`;
      const e = out.get(k) ?? { source: n.span.service, target, gaps: [] };
      e.gaps.push(n.selfMs);
      out.set(k, e);
    }
  }
  return out;
}

/** z-score of an error proportion against a reference proportion (floored at 1%). */
export function errorShiftScore(errorsDuring: number, nDuring: number, pRef: number): number {
  if (nDuring === 0) return 0;
  const p0 = Math.min(Math.max(pRef, 0.01), 0.99);
  const pd = errorsDuring / nDuring;
  return Math.max(0, (pd - p0) / Math.sqrt((p0 * (1 - p0)) / nDuring));
}

export { binomialTail, SHIFT_ALPHA };

/**
 * Whether more incident-window values exceed the baseline's p90 than chance allows:
 * without a shift each exceeds it with probability 0.1, so k of n exceedances is a
 * shift when P(Binomial(n, 0.1) ≥ k) < SHIFT_ALPHA. A p90 over a handful of spans
 * moves with one slow span; this keeps such noise out.
 */
export function exceedsBaselineP90(before: readonly number[], during: readonly number[]): boolean {
  const ref = quantile(before, 0.9);
  let k = 0;
  for (const v of during) if (v > ref) k++;
  return binomialTail(k, during.length, 0.1) < SHIFT_ALPHA;
}

/**
 * Latency shift score: 3 × log2 of the p90 self-time ratio (a doubling scores 3);
 * 0 unless the shift is significant (exceedsBaselineP90).
 */
export function latencyShiftScore(selfBefore: readonly number[], selfDuring: readonly number[]): number {
  if (selfBefore.length < MIN_SPANS || selfDuring.length < MIN_SPANS) return 0;
  if (!exceedsBaselineP90(selfBefore, selfDuring)) return 0;
  const b = Math.max(quantile(selfBefore, 0.9), 0.05);
  const d = Math.max(quantile(selfDuring, 0.9), 0.05);
  return Math.max(0, 3 * Math.log2(d / b));
}

/** Share of its baseline instances an operation must make a call in for the call to be expected of it. @default 0.95 */
export const EXPECTED_CALL_SHARE = 0.95;

/**
 * Calls (child service and operation) an operation is expected to make, given one call
 * it made (null: always), and the share of the baseline instances that made `given`
 * yet lacked one of them.
 */
export interface Expectation {
  given: string | null;
  required: string[];
  baseShare: number;
}

function callSet(n: Indexed): Set<string> {
  return new Set(n.children.map((c) => `${c.service} ${c.operation}`));
}

function applies(e: Expectation, set: ReadonlySet<string>): boolean {
  return e.given === null || set.has(e.given);
}

function lacks(e: Expectation, set: ReadonlySet<string>): boolean {
  return applies(e, set) && e.required.some((c) => !set.has(c));
}

/**
 * Per service/operation, the calls it makes in at least EXPECTED_CALL_SHARE of its
 * baseline instances (MIN_SPANS of them at least): always, and given each call it
 * makes in MIN_SPANS instances at least. One generic handler serves many kinds of
 * request (an HTTP server span named the same for the home page and for placing an
 * order); what it always does after placing an order is known only among the
 * instances that placed one.
 */
export function expectedCalls(baseIndex: Map<string, Map<string, Indexed>>, baseFilter: (s: Span) => boolean): Map<string, Expectation[]> {
  const key = (s: Span): string => `${s.service}\u0000${s.operation}`;
  const base = new Map<string, Set<string>[]>();
  for (const tid of [...baseIndex.keys()].sort())
    for (const node of baseIndex.get(tid)?.values() ?? []) {
      if (!baseFilter(node.span)) continue;
      const sets = base.get(key(node.span)) ?? [];
      sets.push(callSet(node));
      base.set(key(node.span), sets);
    }
  const out = new Map<string, Expectation[]>();
  for (const [k, sets] of base) {
    if (sets.length < MIN_SPANS) continue;
    const counts = new Map<string, number>();
    for (const set of sets) for (const c of set) counts.set(c, (counts.get(c) ?? 0) + 1);
    const conditions: (string | null)[] = [null, ...[...counts].filter(([, n]) => n >= MIN_SPANS).map(([c]) => c).sort()];
    const expectations: Expectation[] = [];
    for (const given of conditions) {
      const subset = given === null ? sets : sets.filter((set) => set.has(given));
      const inSubset = new Map<string, number>();
      for (const set of subset) for (const c of set) if (c !== given) inSubset.set(c, (inSubset.get(c) ?? 0) + 1);
      const required = [...inSubset].filter(([, n]) => n >= EXPECTED_CALL_SHARE * subset.length).map(([c]) => c).sort();
      if (required.length === 0) continue;
      const e: Expectation = { given, required, baseShare: 0 };
      e.baseShare = subset.filter((set) => lacks(e, set)).length / subset.length;
      expectations.push(e);
    }
    if (expectations.length > 0) out.set(k, expectations);
  }
  return out;
}

/** One operation whose instances stopped making calls they always made (missingCalls). */
export interface MissingCalls {
  service: string;
  operation: string;
  /** The call the expectation is conditional on (null: calls it always makes). */
  given: string | null;
  missing: number;
  n: number;
  baseShare: number;
  calls: string[];
  first: number;
  lastCallee: string | null;
  answeredInFull: string | null;
}

/**
 * Spans that stopped making the calls they always made: per service/operation and
 * expectation (expectedCalls: calls made in at least EXPECTED_CALL_SHARE of its
 * baseline instances, always or given another call it made), how many of its
 * incident instances the expectation applies to lack one of the calls. An operation
 * that returns before its usual downstream calls (an early return, an exception it
 * catches) shows no error status and no slowdown, only a shorter call tree; the
 * service owning it is where the code went wrong. Returns per operation its most
 * significant expectation missed: k of n instances and the baseline share missing
 * them, where P(Binomial(n, max(share, 0.05)) ≥ k) < SHIFT_ALPHA.
 *
 * `lastCallee` is the service whose call came back last before the tree was cut
 * short, where most cut instances agree on it. Not when that call came back complete
 * (the callee's own span made every call it is expected to make, in most of them:
 * `answeredInFull`) and no other operation gave up right after the same callee: the
 * callee's work then ran as usual and the caller gave up on its own.
 */
export function missingCalls(
  baseIndex: Map<string, Map<string, Indexed>>,
  baseFilter: (s: Span) => boolean,
  index: Map<string, Map<string, Indexed>>,
  filter: (s: Span) => boolean,
): MissingCalls[] {
  const key = (s: Span): string => `${s.service}\u0000${s.operation}`;
  const expected = expectedCalls(baseIndex, baseFilter);
  interface Tally {
    n: number;
    missing: number;
    first: number;
    last: Map<string, number>;
    full: Map<string, number>;
  }
  const during = new Map<string, { service: string; operation: string; tallies: Tally[] }>();
  const latest = (spans: readonly Span[]): Span | undefined =>
    [...spans].sort((a, b) => b.start + b.duration_ms / 1000 - (a.start + a.duration_ms / 1000) || (a.span_id < b.span_id ? -1 : 1))[0];
  for (const tid of [...index.keys()].sort())
    for (const node of index.get(tid)?.values() ?? []) {
      const xs = expected.get(key(node.span));
      if (!xs || !filter(node.span)) continue;
      const d = during.get(key(node.span)) ?? {
        service: node.span.service,
        operation: node.span.operation,
        tallies: xs.map(() => ({ n: 0, missing: 0, first: Infinity, last: new Map<string, number>(), full: new Map<string, number>() })),
      };
      during.set(key(node.span), d);
      const set = callSet(node);
      // The call that came back last before the tree was cut short (through the caller's own client spans),
      // and whether the callee's own span made every call it is expected to make.
      let last = latest(node.children);
      for (let hops = 0; last && last.service === node.span.service && hops < 8; hops++) {
        const deeper = latest(index.get(tid)?.get(last.span_id)?.children ?? []);
        if (!deeper) break;
        last = deeper;
      }
      const lastNode = last ? index.get(tid)?.get(last.span_id) : undefined;
      const theirs = last ? expected.get(key(last)) : undefined;
      const inFull = !!(last && lastNode && theirs && last.service !== node.span.service && !theirs.some((e) => lacks(e, callSet(lastNode))));
      xs.forEach((e, i) => {
        const t = d.tallies[i];
        if (!t || !applies(e, set)) return;
        t.n++;
        if (!lacks(e, set)) return;
        t.missing++;
        t.first = Math.min(t.first, node.span.start);
        if (last) t.last.set(last.service, (t.last.get(last.service) ?? 0) + 1);
        if (last && inFull) t.full.set(last.service, (t.full.get(last.service) ?? 0) + 1);
      });
    }
  const found: { d: { service: string; operation: string }; e: Expectation; t: Tally; agreed: { callee: string; count: number } | null }[] = [];
  for (const [k, d] of [...during].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const xs = expected.get(k) ?? [];
    let best: { e: Expectation; t: Tally; p: number } | undefined;
    xs.forEach((e, i) => {
      const t = d.tallies[i];
      if (!t || t.missing === 0) return;
      const p = binomialTail(t.missing, t.n, Math.max(e.baseShare, 0.05));
      if (p < SHIFT_ALPHA && (!best || p < best.p)) best = { e, t, p };
    });
    if (!best) continue;
    const top = [...best.t.last].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
    const agreed = top && top[0] !== d.service && top[1] > best.t.missing / 2 ? { callee: top[0], count: top[1] } : null;
    found.push({ d, e: best.e, t: best.t, agreed });
  }
  // How many operations gave up right after the same callee answered (in any of their cut instances).
  const cutAfter = new Map<string, number>();
  for (const f of found) for (const callee of f.t.last.keys()) if (callee !== f.d.service) cutAfter.set(callee, (cutAfter.get(callee) ?? 0) + 1);
  return found.map(({ d, e, t, agreed }) => {
    const inFull = agreed !== null && 2 * (t.full.get(agreed.callee) ?? 0) > agreed.count && (cutAfter.get(agreed.callee) ?? 0) < 2;
    return {
      service: d.service,
      operation: d.operation,
      given: e.given,
      missing: t.missing,
      n: t.n,
      first: t.first,
      baseShare: e.baseShare,
      calls: e.required,
      lastCallee: agreed && !inFull ? agreed.callee : null,
      answeredInFull: agreed && inFull ? agreed.callee : null,
    };
  });
}

function dominantInstance(m: Map<string, number>, total: number): string | undefined {
  const top = [...m.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];
  return top && top[0] && top[1] >= 0.8 * total && m.size > 0 ? top[0] : undefined;
}

/** Error, latency, origin and call-rate evidence from spans. */
export function analyzeTraces(input: AnalyzeTracesInput): TraceEvidence {
  const { spans, incidentStart } = input;
  const callGraph = buildCallGraph([...(input.baselineSpans ?? []), ...spans]);
  if (spans.length === 0) return { source: 'traces', status: 'empty', findings: [], stats: { spans: 0 }, callGraph };
  const index = indexTraces(spans);
  const useSeparate = (input.baselineSpans?.length ?? 0) > 0;
  const baseIndex = useSeparate ? indexTraces(input.baselineSpans ?? []) : index;
  const before = opStats(baseIndex, (s) => useSeparate || s.start < incidentStart);
  const during = opStats(index, (s) => s.start >= incidentStart);
  const haveBaseline = [...before.values()].some((o) => o.n > 0);
  const baseLabel = useSeparate ? 'the fault-free baseline' : `before ${clockTime(incidentStart)}`;
  const findings: Finding[] = [];

  let allN = 0;
  let allErr = 0;
  for (const o of during.values()) {
    allN += o.n;
    allErr += o.errors;
  }
  for (const [k, d] of [...during.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const b = before.get(k);
    const instance = dominantInstance(d.instances, d.n);
    // Error-rate shift.
    if (d.errors > 0) {
      let score = 0;
      let ref = '';
      if (b && b.n >= MIN_SPANS) {
        score = errorShiftScore(d.errors, d.n, b.errors / b.n);
        ref = `${formatNumber((100 * b.errors) / b.n)}% ${baseLabel}`;
      } else if (!haveBaseline) {
        const others = allN - d.n;
        score = others > 0 ? errorShiftScore(d.errors, d.n, (allErr - d.errors) / others) : 0;
        ref = `${others > 0 ? formatNumber((100 * (allErr - d.errors)) / others) : '0'}% in the other spans (no spans before the incident to compare with)`;
      }
      if (score > 0)
        findings.push({
          id: `traces:${d.service}:${d.operation}:errors`,
          source: 'traces',
          service: d.service,
          ...(instance ? { instance } : {}),
          indicator: `span:${d.operation}`,
          score: Math.min(score, 1000),
          onset: d.first,
          summary: `${d.service} span '${d.operation}' error rate ${formatNumber((100 * d.errors) / d.n)}% (${d.errors}/${d.n}) during the incident vs ${ref}`,
          direction: 'up',
        });
    }
    // Latency (self time) shift.
    if (b) {
      const score = latencyShiftScore(b.self, d.self);
      if (score >= 1)
        findings.push({
          id: `traces:${d.service}:${d.operation}:latency`,
          source: 'traces',
          service: d.service,
          ...(instance ? { instance } : {}),
          indicator: `span:${d.operation}`,
          score,
          onset: d.first,
          summary: `${d.service} span '${d.operation}' p90 self time ${formatNumber(quantile(d.self, 0.9))} ms during the incident vs ${formatNumber(quantile(b.self, 0.9))} ms ${baseLabel}`,
          direction: 'up',
        });
    }
  }

  // Operations that stopped making the calls they always made.
  if (haveBaseline)
    for (const m of missingCalls(baseIndex, (sp) => useSeparate || sp.start < incidentStart, index, (sp) => sp.start >= incidentStart)) {
      findings.push({
        id: `traces:${m.service}:${m.operation}:missing-calls`,
        source: 'traces',
        service: m.service,
        indicator: `span:${m.operation}`,
        score: Math.min(errorShiftScore(m.missing, m.n, m.baseShare), 1000),
        onset: Number.isFinite(m.first) ? m.first : null,
        summary: `${m.service} span '${m.operation}' made fewer of its usual calls: ${m.missing} of ${m.n}${m.given ? ` that call ${m.given}` : ''} during the incident lack one of ${m.calls.slice(0, 3).join(', ')}${m.calls.length > 3 ? ', ...' : ''} (${formatNumber(100 * m.baseShare)}% of them in ${baseLabel})${
          m.answeredInFull ? `; it stopped right after its call into ${m.answeredInFull} came back complete (${m.answeredInFull} made all its usual calls)` : ''
        }`,
        direction: 'down',
      });
      if (m.lastCallee)
        findings.push({
          id: `traces:${m.lastCallee}:${m.service}:${m.operation}:cut-after`,
          source: 'traces',
          service: m.lastCallee,
          readOff: m.service,
          indicator: `span:${m.operation}`,
          score: Math.min(errorShiftScore(m.missing, m.n, m.baseShare), 1000),
          onset: Number.isFinite(m.first) ? m.first : null,
          summary: `${m.service} span '${m.operation}' stopped its usual calls right after its call into ${m.lastCallee} came back (${m.missing} of ${m.n} during the incident): ${m.lastCallee}'s answer may be what made it give up`,
          direction: 'down',
        });
    }

  // Deepest failing spans in the incident window.
  const duringSpans = spans.filter((s) => s.start >= incidentStart);
  const origin = deepestFailingSpans(duringSpans);
  for (const o of origin.origins.slice(0, 5)) {
    const share = o.traces / Math.max(origin.failingTraces, 1);
    if (o.traces < 2 || share < 0.1) continue;
    findings.push({
      id: `traces:${o.service}:${o.operation}:origin`,
      source: 'traces',
      service: o.service,
      indicator: `span:${o.operation}`,
      score: 10 * share * Math.min(1, Math.log2(1 + o.traces) / 4),
      onset: null,
      summary: `${Math.round(100 * share)}% of failing traces (${o.traces}/${origin.failingTraces}) end in ${o.service} span '${o.operation}' (error)`,
      direction: 'up',
    });
  }

  // Where slow traces spend their extra time (needs a baseline of self times).
  if (haveBaseline) {
    const baseMedian = new Map<string, number>();
    for (const [k, o] of before) baseMedian.set(k, median(o.self));
    const rootDur = new Map<string, number[]>();
    for (const t of baseIndex.values())
      for (const n of t.values())
        if (!n.span.parent_span_id && (useSeparate || n.span.start < incidentStart)) {
          const arr = rootDur.get(n.span.operation) ?? [];
          arr.push(n.span.duration_ms);
          rootDur.set(n.span.operation, arr);
        }
    const rootP90 = new Map<string, number>();
    for (const [op, arr] of rootDur) if (arr.length >= MIN_SPANS) rootP90.set(op, quantile(arr, 0.9));
    const blame = new Map<string, { service: string; operation: string; traces: number }>();
    let slow = 0;
    for (const tid of [...index.keys()].sort()) {
      const t = index.get(tid);
      if (!t) continue;
      const root = [...t.values()].find((n) => !n.span.parent_span_id);
      if (!root || root.span.start < incidentStart) continue;
      const ref = rootP90.get(root.span.operation);
      if (ref === undefined || root.span.duration_ms <= ref * 1.5) continue;
      slow++;
      let best: Indexed | undefined;
      let bestExcess = 0;
      for (const n of t.values()) {
        const m = baseMedian.get(`${n.span.service}\u0000${n.span.operation}`);
        if (m === undefined) continue;
        const excess = n.selfMs - m;
        if (excess > bestExcess) {
          best = n;
          bestExcess = excess;
        }
      }
      if (!best) continue;
      const k = `${best.span.service}\u0000${best.span.operation}`;
      const e = blame.get(k) ?? { service: best.span.service, operation: best.span.operation, traces: 0 };
      e.traces++;
      blame.set(k, e);
    }
    const ranked = [...blame.values()].sort((a, b) => b.traces - a.traces || (a.service < b.service ? -1 : 1));
    for (const e of ranked.slice(0, 5)) {
      const share = e.traces / Math.max(slow, 1);
      if (e.traces < 3 || share < 0.1) continue;
      findings.push({
        id: `traces:${e.service}:${e.operation}:slow-origin`,
        source: 'traces',
        service: e.service,
        indicator: `span:${e.operation}`,
        score: 10 * share * Math.min(1, Math.log2(1 + e.traces) / 4),
        onset: null,
        summary: `${Math.round(100 * share)}% of slow traces (${e.traces}/${slow}) spend most of their extra time in ${e.service} span '${e.operation}'`,
        direction: 'up',
      });
    }
  }

  // Network time of RPCs: the self time of client spans (whose children all run in one
  // other service) per edge. A slow edge is ambiguous between its two ends; the end
  // shared by the slow edges is blamed: the lower median over a callee's incoming edges
  // (calls into it are slow from most of its callers; one of two is not most), or over a
  // caller's outgoing edges.
  if (haveBaseline) {
    const edgeBefore = clientGaps(baseIndex, (sp) => useSeparate || sp.start < incidentStart);
    const edgeDuring = clientGaps(index, (sp) => sp.start >= incidentStart);
    const edgeScore = new Map<string, { source: string; target: string; score: number; before: number; during: number }>();
    for (const [k, d] of edgeDuring) {
      const b = edgeBefore.get(k);
      if (!b) continue;
      const score = latencyShiftScore(b.gaps, d.gaps);
      edgeScore.set(k, { source: d.source, target: d.target, score, before: quantile(b.gaps, 0.9), during: quantile(d.gaps, 0.9) });
    }
    const incoming = new Map<string, { source: string; target: string; score: number; before: number; during: number }[]>();
    const outgoing = new Map<string, { source: string; target: string; score: number; before: number; during: number }[]>();
    for (const e of edgeScore.values()) {
      incoming.set(e.target, [...(incoming.get(e.target) ?? []), e]);
      outgoing.set(e.source, [...(outgoing.get(e.source) ?? []), e]);
    }
    const emit = (service: string, edges: { source: string; target: string; score: number; before: number; during: number }[], dir: 'in' | 'out'): void => {
      const sorted = edges.map((e) => e.score).sort((a, b) => a - b);
      const score = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
      if (!(score >= 1)) return;
      const worst = [...edges].sort((a, b) => b.score - a.score)[0];
      if (!worst) return;
      findings.push({
        id: `traces:${service}:network-${dir}`,
        source: 'traces',
        service,
        indicator: dir === 'in' ? 'network:incoming' : 'network:outgoing',
        score,
        onset: null,
        summary: `${dir === 'in' ? `calls into ${service}` : `calls out of ${service}`} spend longer between client and server (${edges.length} edge(s); e.g. ${worst.source}→${worst.target} p90 ${formatNumber(worst.during)} ms vs ${formatNumber(worst.before)} ms ${baseLabel})`,
        direction: 'up',
      });
    };
    for (const [svc, edges] of [...incoming.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) emit(svc, edges, 'in');
    for (const [svc, edges] of [...outgoing.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (edges.length >= 2) emit(svc, edges, 'out');
  }

  findings.sort(byScoreThenKey((f) => f.score, (f) => f.id));
  return {
    source: 'traces',
    status: 'ok',
    findings: findings.slice(0, input.maxFindings ?? 50),
    stats: {
      spans: spans.length,
      traces: index.size,
      spansDuring: duringSpans.length,
      failingTraces: origin.failingTraces,
      hasBaseline: haveBaseline ? 1 : 0,
    },
    callGraph,
  };
}
