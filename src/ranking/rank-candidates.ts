/**
 * Fuses the evidence of every source with the dependency graph into ranked
 * root-cause candidates. Each signal is a small exported pure helper:
 *
 0. callerInducedDemand: demand findings of a callee (requests, connections in use)
 *    whose caller is in trouble from no later are the caller's doing and set aside.
 * 1. serviceStrengths: per source, each service's strongest finding, normalized by
 *    the source's strongest (0..1); a saturated resource (cpu/memory near its limit,
 *    see analysis/metrics isSaturation) counts as its source's strongest
 *    (withSaturation); anomaly(s) = weighted mean over the sources that returned
 *    findings (metrics, traces, logs 1; topology changes 0.5).
 * 2. serviceOnsets: earliest onset of a service's significant observed anomalies.
 * 3. propagationFactor: a service whose callee is at least as anomalous and can
 *    explain it is discounted: factor 1 - 0.5 * min(1, max callee anomaly ×
 *    calleeExplains / own anomaly). calleeExplains is 0 for a callee whose trouble
 *    began later, 0 for a saturated caller unless the callee began strictly earlier,
 *    and else the share of the caller's symptoms of a family the callee also shows
 *    (errors explain errors, latency explains latency). Healthy callees: factor 1.
 *    A callee's findings read off the caller's own telemetry (a call tree of the
 *    caller cut short right after calling it: Finding.readOff) do not count towards
 *    explaining that caller, here nor in the walk of 6 (anomalyApartFrom).
 * 4. onsetFactor: 1 - 0.25 * share of anomalous services whose onset is strictly
 *    earlier (earlier onset is more likely the cause).
 * 5. pathFactor (anomaly traversal): 0.5 for services not reachable from an alerted
 *    service through anomalous callees (they cannot explain the alert through a chain
 *    of degraded calls; this includes services outside its dependency scope). Edges
 *    the caller does not wait on are not followed, here nor in the walk of 6: a callee
 *    that got ten times slower than its caller (notWaitedOn), or one slower per request
 *    whose requests took under half its caller's extra time (shortOfCallerTime).
 * 5b. sharedCallers: a caller most of whose callees (two at least) slowed together is
 *    at least as anomalous as the second-strongest of them (what they share is the caller).
 * 6. personalizedPageRank on the call graph (walks from a caller to its anomalous
 *    callees, MicroRCA-style, weighted by how far the callee can explain the caller's
 *    kind of symptom), personalized by anomaly; mixed in at 30%.
 *
 * score = 0.7 * anomaly * propagation * onset * path + 0.3 * pagerank / max pagerank.
 *
 * Before fusing, the evidence is focused on the alerted symptom (focusOnSymptom):
 * when the alerts name a symptom family (latency, errors), symptom metrics of other
 * families are set aside.
 * Deterministic: services are iterated and tie-broken by name.
 */
import type { Candidate, Finding, RankingInput, SourceEvidence } from '../schemas/evidence.js';
import type { Topology } from '../schemas/telemetry.js';
import { badDirection, classifyMetric, isDemandMetric, SATURATION_SUFFIX } from '../analysis/metrics.js';
import { clockTime, formatNumber, median } from '../analysis/robust-stats.js';

export const SOURCE_WEIGHT: Record<SourceEvidence['source'], number> = {
  metrics: 1,
  traces: 1,
  logs: 1,
  topology: 0.5,
};

export interface Graph {
  nodes: string[];
  callees: Map<string, string[]>;
  callers: Map<string, string[]>;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Call graph from the topology and any `callGraph` carried by trace evidence. */
export function buildGraph(topology: Topology | null, evidence: readonly SourceEvidence[]): Graph {
  const edges: { source: string; target: string }[] = [...(topology?.edges ?? [])];
  for (const ev of evidence) {
    const cg = (ev as { callGraph?: unknown }).callGraph;
    if (Array.isArray(cg))
      for (const e of cg as { source?: unknown; target?: unknown }[])
        if (typeof e.source === 'string' && typeof e.target === 'string') edges.push({ source: e.source, target: e.target });
  }
  const nodes = new Set<string>(topology?.services.map((s) => s.name) ?? []);
  const callees = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  for (const e of edges) {
    nodes.add(e.source);
    nodes.add(e.target);
    if (e.source === e.target) continue;
    const a = callees.get(e.source) ?? [];
    if (!a.includes(e.target)) a.push(e.target);
    callees.set(e.source, a);
    const b = callers.get(e.target) ?? [];
    if (!b.includes(e.source)) b.push(e.source);
    callers.set(e.target, b);
  }
  for (const m of [callees, callers]) for (const v of m.values()) v.sort(cmp);
  return { nodes: [...nodes].sort(cmp), callees, callers };
}

/** Per source: service → strongest finding score / the source's strongest score. */
export function serviceStrengths(evidence: readonly SourceEvidence[]): Map<SourceEvidence['source'], Map<string, number>> {
  const out = new Map<SourceEvidence['source'], Map<string, number>>();
  for (const ev of evidence) {
    if (ev.findings.length === 0) continue;
    const m = out.get(ev.source) ?? new Map<string, number>();
    for (const f of ev.findings) m.set(f.service, Math.max(m.get(f.service) ?? 0, f.score));
    out.set(ev.source, m);
  }
  for (const m of out.values()) {
    let max = 0;
    for (const v of m.values()) max = Math.max(max, v);
    if (max > 0) for (const [k, v] of m) m.set(k, v / max);
  }
  return out;
}

/** Weighted mean of the normalized strengths over the sources that reported findings. */
export function combinedAnomaly(strengths: Map<SourceEvidence['source'], Map<string, number>>): Map<string, number> {
  let wsum = 0;
  for (const src of strengths.keys()) wsum += SOURCE_WEIGHT[src];
  const out = new Map<string, number>();
  for (const [src, m] of strengths)
    for (const [svc, v] of m) out.set(svc, (out.get(svc) ?? 0) + (SOURCE_WEIGHT[src] * v) / Math.max(wsum, 1e-9));
  return out;
}

/**
 * Earliest onset of the findings of each service scoring at least half its strongest
 * finding in that source. Only observed anomalies (metrics, logs, traces) date a
 * service's trouble: a change (topology) is a possible cause, and a deploy an hour
 * before says nothing about which service went wrong first.
 */
export function serviceOnsets(evidence: readonly SourceEvidence[]): Map<string, { at: number; finding: Finding }> {
  const out = new Map<string, { at: number; finding: Finding }>();
  for (const ev of evidence) {
    if (ev.source === 'topology') continue;
    const max = new Map<string, number>();
    for (const f of ev.findings) max.set(f.service, Math.max(max.get(f.service) ?? 0, f.score));
    for (const f of ev.findings) {
      if (f.onset === null || f.score < 0.5 * (max.get(f.service) ?? 0)) continue;
      const cur = out.get(f.service);
      if (!cur || f.onset < cur.at || (f.onset === cur.at && f.score > cur.finding.score)) out.set(f.service, { at: f.onset, finding: f });
    }
  }
  return out;
}

/** Strength (0..1, normalized within each source) of a service's symptoms per family. */
export type SymptomProfile = Partial<Record<Symptom, number>>;

/**
 * Per service, its strongest finding of each symptom family (errors, latency) as a
 * share of its source's strongest finding. Causes (resources, logs, changes) and
 * demand (traffic) are no symptom and do not appear.
 */
export function symptomProfiles(evidence: readonly SourceEvidence[]): Map<string, SymptomProfile> {
  const out = new Map<string, SymptomProfile>();
  for (const ev of evidence) {
    let max = 0;
    for (const f of ev.findings) max = Math.max(max, f.score);
    if (max <= 0) continue;
    for (const f of ev.findings) {
      const k = findingSymptom(f);
      if (k !== 'latency' && k !== 'errors') continue;
      const p = out.get(f.service) ?? {};
      p[k] = Math.max(p[k] ?? 0, f.score / max);
      out.set(f.service, p);
    }
  }
  return out;
}

/**
 * Share (0..1) of a caller's symptoms that a callee can explain: a callee passes on
 * what its callers see of it, errors as errors and slowness as slowness, so a
 * callee that only got slower does not explain its caller's failures. The share is
 * the caller's symptom strength in the families the callee shows over its total.
 * 1 when either side shows no symptom (what the callee passes on is then unknown).
 */
export function explainedShare(caller: SymptomProfile | undefined, callee: SymptomProfile | undefined): number {
  const fams: Symptom[] = ['errors', 'latency'];
  const total = fams.reduce((a, k) => a + (caller?.[k] ?? 0), 0);
  const calleeShows = fams.some((k) => (callee?.[k] ?? 0) > 0);
  if (total <= 0 || !calleeShows) return 1;
  return fams.reduce((a, k) => a + ((callee?.[k] ?? 0) > 0 ? (caller?.[k] ?? 0) : 0), 0) / total;
}

/**
 * Per service whose own telemetry some findings of other services are a reading of
 * (Finding.readOff: a call tree of it cut short right after a call into the other),
 * the combined anomaly of every service without those findings. Such a finding is the
 * caller's own observation offered as its callee's possible doing: it competes with
 * the caller's own reading of it, it does not explain the caller away.
 */
export function anomalyApartFrom(evidence: readonly SourceEvidence[], saturated: ReadonlyMap<string, Finding>): Map<string, Map<string, number>> {
  const observers = new Set<string>();
  for (const ev of evidence) for (const f of ev.findings) if (f.readOff !== undefined && f.readOff !== f.service) observers.add(f.readOff);
  const out = new Map<string, Map<string, number>>();
  for (const o of [...observers].sort(cmp)) {
    const apart = evidence.map((ev) => ({ ...ev, findings: ev.findings.filter((f) => f.readOff !== o) }));
    out.set(o, combinedAnomaly(withSaturation(serviceStrengths(apart), saturated)));
  }
  return out;
}

/** What decides whether a callee can explain its caller, beyond the call graph. */
export interface ExplanationContext {
  /** Symptom strengths per service (symptomProfiles); without them every symptom counts. */
  profiles?: ReadonlyMap<string, SymptomProfile>;
  /** Services whose own resource is saturated (saturatedServices). */
  saturated?: ReadonlySet<string>;
  /** Per caller, the anomaly of its callees without the findings read off its own telemetry (anomalyApartFrom). */
  apartFrom?: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

/**
 * How far (0..1) the anomaly of `callee` can explain that of its caller: 0 when the
 * callee's trouble began later than the caller's (unknown onsets count as "no
 * later"); 0 when the caller's own resource is saturated, which explains its
 * symptoms itself, unless the callee's trouble began strictly earlier; otherwise the
 * share of the caller's symptoms the callee shows (explainedShare).
 */
export function calleeExplains(
  caller: string,
  callee: string,
  onsets: ReadonlyMap<string, { at: number }>,
  context: ExplanationContext & { ignoreLaterOnset?: boolean } = {},
): number {
  const mine = onsets.get(caller)?.at;
  const theirs = onsets.get(callee)?.at;
  const known = mine !== undefined && theirs !== undefined;
  if (known && theirs > mine && !context.ignoreLaterOnset) return 0;
  if (context.saturated?.has(caller) && !(known && theirs < mine)) return 0;
  return context.profiles ? explainedShare(context.profiles.get(caller), context.profiles.get(callee)) : 1;
}

/**
 * Discount for a service whose anomaly is explained by a callee that is at least as
 * anomalous: factor 1 - 0.5 × min(1, best callee anomaly × calleeExplains / own).
 */
export function propagationFactor(
  service: string,
  anomaly: ReadonlyMap<string, number>,
  onsets: ReadonlyMap<string, { at: number }>,
  graph: Graph,
  context: ExplanationContext = {},
): { factor: number; explainedBy: string | null; healthyCallees: string[] } {
  const own = anomaly.get(service) ?? 0;
  let best = 0;
  let explainedBy: string | null = null;
  const healthy: string[] = [];
  const apart = context.apartFrom?.get(service);
  for (const c of graph.callees.get(service) ?? []) {
    const all = anomaly.get(c) ?? 0;
    if (all === 0) {
      healthy.push(c);
      continue;
    }
    const raw = apart ? Math.min(all, apart.get(c) ?? 0) : all;
    const a = raw * calleeExplains(service, c, onsets, context);
    if (a <= 0) continue;
    if (a > best || (a === best && explainedBy !== null && cmp(c, explainedBy) < 0)) {
      best = a;
      explainedBy = c;
    }
  }
  if (own <= 0) return { factor: 1, explainedBy: null, healthyCallees: healthy };
  return { factor: 1 - 0.5 * Math.min(1, best / own), explainedBy, healthyCallees: healthy };
}

/** 1 - 0.25 × share of the other anomalous services whose onset is strictly earlier. */
export function onsetFactor(service: string, onsets: ReadonlyMap<string, { at: number }>): number {
  const mine = onsets.get(service)?.at;
  if (mine === undefined || onsets.size <= 1) return 1;
  let earlier = 0;
  for (const [s, o] of onsets) if (s !== service && o.at < mine) earlier++;
  return 1 - (0.25 * earlier) / (onsets.size - 1);
}

/** Alerted services and their transitive dependencies (callees). */
export function dependencyScope(graph: Graph, alerted: readonly string[]): Set<string> {
  const seen = new Set<string>(alerted);
  const stack = [...alerted];
  while (stack.length > 0) {
    const s = stack.pop() as string;
    for (const c of graph.callees.get(s) ?? [])
      if (!seen.has(c)) {
        seen.add(c);
        stack.push(c);
      }
  }
  return seen;
}

/**
 * Personalized PageRank on the call graph: from a node the walk moves to a callee
 * with probability proportional to the callee's anomaly, back to a caller with a
 * small weight (0.1 × its anomaly), or stays (own anomaly); it restarts according
 * to the anomaly vector. Mass gathers on anomalous services whose callees are healthy.
 */
export function personalizedPageRank(
  graph: Graph,
  anomaly: ReadonlyMap<string, number>,
  options: { damping?: number; iterations?: number; explains?: (caller: string, callee: string) => number } = {},
): Map<string, number> {
  const damping = options.damping ?? 0.85;
  const iterations = options.iterations ?? 50;
  const nodes = [...new Set([...graph.nodes, ...anomaly.keys()])].sort(cmp);
  const eps = 1e-3;
  const a = (s: string): number => (anomaly.get(s) ?? 0) + eps;
  let total = 0;
  for (const n of nodes) total += a(n);
  const restart = new Map(nodes.map((n) => [n, a(n) / total]));
  let rank = new Map(restart);
  const out = new Map<string, { to: string; w: number }[]>();
  for (const n of nodes) {
    const moves: { to: string; w: number }[] = [{ to: n, w: a(n) }];
    for (const c of graph.callees.get(n) ?? []) moves.push({ to: c, w: a(c) * (options.explains?.(n, c) ?? 1) });
    for (const p of graph.callers.get(n) ?? []) moves.push({ to: p, w: 0.1 * a(p) });
    const sum = moves.reduce((x, m) => x + m.w, 0);
    out.set(n, moves.map((m) => ({ to: m.to, w: m.w / sum })));
  }
  for (let it = 0; it < iterations; it++) {
    const next = new Map(nodes.map((n) => [n, (1 - damping) * (restart.get(n) ?? 0)]));
    for (const n of nodes) {
      const r = rank.get(n) ?? 0;
      for (const m of out.get(n) ?? []) next.set(m.to, (next.get(m.to) ?? 0) + damping * r * m.w);
    }
    rank = next;
  }
  return rank;
}

/** Kind of a finding for the candidate's indicator. */
export function indicatorOf(f: Finding): string {
  if (f.source === 'metrics') {
    const k = classifyMetric(f.indicator);
    return k === 'availability' ? 'errors' : k === 'other' ? f.indicator : k;
  }
  if (f.source === 'traces') return /:(errors|origin)$/.test(f.id) ? 'errors' : 'latency';
  return f.indicator;
}

/** The instance whose findings dominate (≥ 1.5× the next instance), if any. */
export function dominantInstance(findings: readonly Finding[]): string | undefined {
  const best = new Map<string, number>();
  for (const f of findings) if (f.instance) best.set(f.instance, Math.max(best.get(f.instance) ?? 0, f.score));
  const sorted = [...best.entries()].sort((x, y) => y[1] - x[1] || cmp(x[0], y[0]));
  const [first, second] = sorted;
  if (!first) return undefined;
  if (!second || first[1] >= 1.5 * second[1]) return first[0];
  return undefined;
}

export const PAGERANK_WEIGHT = 0.3;
/** Score factor of a service off every anomalous call chain from the alerted services. @default 0.5 */
export const OFF_PATH_FACTOR = 0.5;

/** The symptom families an alert can name: slow answers, or failed answers. */
export type Symptom = 'latency' | 'errors';

/**
 * What kind of symptom the alerts are about, from their alertname, summary and any
 * metric label (`HighLatency` → latency, `LowAvailability` → errors). Empty when the
 * alerts do not say (a generic "SLO violation"): then every symptom counts.
 */
export function alertSymptoms(alerts: RankingInput['alerts']): Symptom[] {
  const out = new Set<Symptom>();
  for (const a of alerts ?? []) {
    const text = [a.labels['alertname'], a.labels['metric'], a.labels['__name__'], a.annotations['summary']]
      .filter((x): x is string => typeof x === 'string')
      .join(' ')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase();
    if (/latenc|slow|duration|response.?time/.test(text)) out.add('latency');
    if (/availab|error|fail|\b5\d\d\b|success/.test(text)) out.add('errors');
  }
  return [...out].sort();
}

/** The symptom family of a finding, or null for causes (resources, logs, changes) that are no symptom. */
export function findingSymptom(f: Finding): Symptom | 'traffic' | null {
  if (f.source === 'metrics') {
    const k = classifyMetric(f.indicator);
    if (k === 'latency') return 'latency';
    if (k === 'errors' || k === 'availability') return 'errors';
    if (k === 'traffic') return 'traffic';
    return null;
  }
  if (f.source === 'traces') return /:(errors|origin)$/.test(f.id) ? 'errors' : 'latency';
  return null;
}

/**
 * Keeps the metric findings that can explain the alerted symptom: when the alerts name
 * a symptom family, symptom metrics of another family (a request-count swing or an
 * availability dip under a latency alert) are set aside; resource metrics (cpu,
 * memory, io, ...) and other sources are kept, since a cause shows there whatever
 * the symptom.
 */
export function focusOnSymptom(evidence: readonly SourceEvidence[], symptoms: readonly Symptom[]): SourceEvidence[] {
  return evidence.map((ev) => {
    if (ev.source !== 'metrics') return ev;
    const findings = ev.findings.filter((f) => {
      const s = findingSymptom(f);
      if (s === 'latency' || s === 'errors') {
        // A symptom metric that got better (faster, fewer failures) is no symptom.
        const bad = badDirection(f.indicator);
        if (bad !== 'both' && f.direction !== 'none' && f.direction !== bad) return false;
      }
      return symptoms.length === 0 || s === null || (s !== 'traffic' && symptoms.includes(s));
    });
    return { ...ev, findings };
  });
}

/**
 * Anomaly traversal from the alerted services down the call graph: the alerted
 * services and every service reachable from them through anomalous callees. A cause
 * explains the alert through a chain of degraded calls, so services off such a chain
 * are less likely.
 */
export function anomalousReach(graph: Graph, alerted: readonly string[], anomaly: ReadonlyMap<string, number>): Set<string> {
  const seen = new Set<string>(alerted);
  const stack = [...alerted];
  while (stack.length > 0) {
    const s = stack.pop() as string;
    for (const c of graph.callees.get(s) ?? [])
      if (!seen.has(c) && (anomaly.get(c) ?? 0) > 0) {
        seen.add(c);
        stack.push(c);
      }
  }
  return seen;
}

/**
 * Edge metrics name their peer: `<m>_to_<callee>` measured at the caller describes
 * the callee as its callers see it, so such findings are attributed to the callee
 * (when it is a known service); the summary keeps where it was measured.
 */
export function attributeEdgeFindings(evidence: readonly SourceEvidence[], graph: Graph): SourceEvidence[] {
  const known = new Set(graph.nodes);
  return evidence.map((ev) => {
    if (ev.source !== 'metrics') return ev;
    const findings = ev.findings.map((f) => {
      const m = /_to_([A-Za-z0-9._:-]+)$/.exec(f.indicator);
      const peer = m?.[1];
      if (!peer || !known.has(peer) || peer === f.service) return f;
      const { instance: _drop, ...rest } = f;
      void _drop;
      return { ...rest, service: peer, summary: `${f.summary} (measured at caller ${f.service}, attributed to ${peer})` };
    });
    return { ...ev, findings };
  });
}

/** Services with a metric finding that shows a resource saturated (cpu or memory near its limit). */
export function saturatedServices(evidence: readonly SourceEvidence[]): Map<string, Finding> {
  const out = new Map<string, Finding>();
  for (const ev of evidence) {
    if (ev.source !== 'metrics') continue;
    for (const f of ev.findings) {
      if (!f.id.endsWith(SATURATION_SUFFIX)) continue;
      const cur = out.get(f.service);
      if (!cur || f.score > cur.score) out.set(f.service, f);
    }
  }
  return out;
}

/**
 * Demand findings (request counts, connections in use: isDemandMetric) of a service
 * whose caller is itself in trouble from no later: the callee receives what its
 * callers send, so more connections held or a traffic swing there is the caller's
 * doing, not a fault of the callee. The caller must have a finding other than
 * demand (two services whose traffic moved do not explain each other). Returns
 * finding id → the caller that explains it.
 */
export function callerInducedDemand(
  evidence: readonly SourceEvidence[],
  graph: Graph,
): Map<string, string> {
  const troubled = new Map<string, number | null>();
  for (const ev of evidence) {
    if (ev.source === 'topology') continue;
    for (const f of ev.findings) {
      if (ev.source === 'metrics' && isDemandMetric(f.indicator)) continue;
      const cur = troubled.get(f.service);
      const at = f.onset;
      if (cur === undefined) troubled.set(f.service, at);
      else if (at !== null && (cur === null || at < cur)) troubled.set(f.service, at);
    }
  }
  const out = new Map<string, string>();
  for (const ev of evidence) {
    if (ev.source !== 'metrics') continue;
    for (const f of ev.findings) {
      if (!isDemandMetric(f.indicator)) continue;
      for (const caller of graph.callers.get(f.service) ?? []) {
        if (!troubled.has(caller)) continue;
        const at = troubled.get(caller) ?? null;
        if (at === null || f.onset === null || at <= f.onset) {
          out.set(f.id, caller);
          break;
        }
      }
    }
  }
  return out;
}

/** The graph without the given `caller → callee` edges (nodes kept). */
export function withoutEdges(graph: Graph, drop: ReadonlySet<string>): Graph {
  if (drop.size === 0) return graph;
  const callees = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  for (const [a, cs] of graph.callees) callees.set(a, cs.filter((c) => !drop.has(`${a} → ${c}`)));
  for (const [b, ps] of graph.callers) callers.set(b, ps.filter((p) => !drop.has(`${p} → ${b}`)));
  return { nodes: graph.nodes, callees, callers };
}

/** Evidence without the given findings. */
function withoutFindings(evidence: readonly SourceEvidence[], drop: ReadonlyMap<string, unknown>): SourceEvidence[] {
  if (drop.size === 0) return [...evidence];
  return evidence.map((ev) => ({ ...ev, findings: ev.findings.filter((f) => !drop.has(f.id)) }));
}

/**
 * A saturated resource is strong evidence for its own service: its metrics strength
 * counts as the source's strongest, whatever the z-scores of other series (an error
 * rate from a near-zero baseline reaches z-scores no utilization can).
 */
export function withSaturation(
  strengths: Map<SourceEvidence['source'], Map<string, number>>,
  saturated: ReadonlyMap<string, Finding>,
): Map<SourceEvidence['source'], Map<string, number>> {
  const out = new Map([...strengths].map(([src, m]) => [src, new Map(m)] as const));
  const metrics = out.get('metrics');
  if (metrics) for (const svc of saturated.keys()) metrics.set(svc, 1);
  return out;
}

/**
 * A caller most of whose callees turned slow together: independent faults in several
 * callees at once are unlikely, and what they share is the caller (its network, its
 * client side). Returns caller → the slow callees and a strength: the second-strongest
 * slow callee's anomaly (two must agree). Needs at least two slow callees that are at
 * least half of its callees.
 */
export function sharedCallers(
  graph: Graph,
  anomaly: ReadonlyMap<string, number>,
  profiles: ReadonlyMap<string, SymptomProfile>,
): Map<string, { callees: string[]; strength: number }> {
  const out = new Map<string, { callees: string[]; strength: number }>();
  for (const svc of graph.nodes) {
    const callees = graph.callees.get(svc) ?? [];
    const slow = callees.filter((c) => (profiles.get(c)?.latency ?? 0) > 0 && (anomaly.get(c) ?? 0) > 0);
    if (slow.length < 2 || 2 * slow.length < callees.length) continue;
    const strengths = slow.map((c) => anomaly.get(c) ?? 0).sort((a, b) => b - a);
    out.set(svc, { callees: slow, strength: strengths[1] ?? 0 });
  }
  return out;
}

/**
 * Per service and latency metric, the time its latency rose by during the incident
 * (level minus baseline, in the metric's unit; the largest over instances).
 */
export function addedLatency(evidence: readonly SourceEvidence[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const ev of evidence) {
    if (ev.source !== 'metrics') continue;
    for (const f of ev.findings) {
      if (classifyMetric(f.indicator) !== 'latency' || f.direction !== 'up' || f.baseline === undefined || f.level === undefined) continue;
      const added = f.level - f.baseline;
      if (!(added > 0)) continue;
      const m = out.get(f.service) ?? new Map<string, number>();
      m.set(f.indicator, Math.max(m.get(f.indicator) ?? 0, added));
      out.set(f.service, m);
    }
  }
  return out;
}

/** Share of a caller's latency rise a callee covers to count as the callee's. @default 0.5 */
export const COVERED_SHARE = 0.5;

/**
 * Callees whose added latency covers most of a caller's: a caller waits for its
 * callee, so when the callee's latency rose by most of the time the caller's rose by
 * (the same metric, in seconds), the caller's slowness is the callee's, however their
 * z-scores compare (a tight baseline on the caller, a loose one on the callee make the
 * caller look far more anomalous). Returns callee → the caller and the covered share
 * (mean over the latency metrics both report of min(1, callee's rise / caller's)),
 * for shares of at least COVERED_SHARE; the best-covered caller per callee.
 */
export function latencyCoveredBy(evidence: readonly SourceEvidence[], graph: Graph): Map<string, { caller: string; share: number }[]> {
  const added = addedLatency(evidence);
  const out = new Map<string, { caller: string; share: number }[]>();
  for (const caller of graph.nodes) {
    const mine = added.get(caller);
    if (!mine) continue;
    for (const callee of graph.callees.get(caller) ?? []) {
      const theirs = added.get(callee);
      if (!theirs) continue;
      const shares: number[] = [];
      for (const [metric, rise] of mine) {
        const t = theirs.get(metric);
        if (t !== undefined) shares.push(Math.min(1, t / rise));
      }
      if (shares.length === 0) continue;
      const share = shares.reduce((a, b) => a + b, 0) / shares.length;
      if (share < COVERED_SHARE) continue;
      out.set(callee, [...(out.get(callee) ?? []), { caller, share }]);
    }
  }
  return out;
}

/** How many times its caller's latency rise a callee's must be to be no synchronous wait of the caller. @default 10 */
export const NOT_WAITED_RATIO = 10;

/**
 * Call edges the caller does not wait on: the callee's latency rose by an order of
 * magnitude (NOT_WAITED_RATIO) more than its caller's (each one's typical rise: the
 * rise at least half of its latency findings show, in seconds, i.e. the lower median;
 * with two metrics a plain median is their mean, which one p99 that jumped ten
 * seconds carries alone). A caller that waits for its callee gets at
 * least about as much slower; one that did not is calling it asynchronously (a
 * workflow it starts, a queue it feeds) or for a sliver of its requests, so the
 * callee's slowness does not explain the caller's, nor can the caller's symptom be
 * traced down that edge. Keys are `caller → callee`.
 */
export function notWaitedOn(evidence: readonly SourceEvidence[], graph: Graph): Set<string> {
  const rise = new Map<string, number>();
  for (const [svc, m] of addedLatency(evidence)) rise.set(svc, [...m.values()].sort((a, b) => a - b)[Math.floor((m.size - 1) / 2)] ?? 0);
  const out = new Set<string>();
  for (const caller of graph.nodes) {
    const mine = rise.get(caller);
    if (mine === undefined) continue;
    for (const callee of graph.callees.get(caller) ?? []) {
      const theirs = rise.get(callee);
      if (theirs !== undefined && theirs > NOT_WAITED_RATIO * mine) out.add(`${caller} → ${callee}`);
    }
  }
  return out;
}

/**
 * Call edges whose callee cannot have cost its caller most of the time the caller lost,
 * where both measure average latency and requests (SourceEvidence.extraTime: requests ×
 * average rise, the extra time their requests took). The callee got slower per request
 * than its caller, so a caller waiting on it for each of its requests would have slowed
 * at least as much; yet the extra time of all the callee's requests is under
 * COVERED_SHARE of its caller's. The caller waits on it for a sliver of its requests, if
 * at all (a workflow it starts): most of the caller's slowness is elsewhere, and is not
 * traced down that edge. Only callers with a latency rise among the findings (the
 * alerted symptom, after focusOnSymptom). Keys are `caller → callee`.
 */
export function shortOfCallerTime(evidence: readonly SourceEvidence[], graph: Graph): Set<string> {
  const extra = new Map<string, { requests: number; seconds: number }>();
  for (const ev of evidence) for (const [svc, x] of Object.entries(ev.extraTime ?? {})) extra.set(svc, x);
  const slow = addedLatency(evidence);
  const out = new Set<string>();
  for (const caller of graph.nodes) {
    const mine = extra.get(caller);
    if (!slow.has(caller) || !mine || !(mine.seconds > 0) || !(mine.requests > 0)) continue;
    for (const callee of graph.callees.get(caller) ?? []) {
      const theirs = extra.get(callee);
      if (!theirs || !(theirs.requests > 0)) continue;
      if (theirs.seconds / theirs.requests > mine.seconds / mine.requests && theirs.seconds < COVERED_SHARE * mine.seconds) out.add(`${caller} → ${callee}`);
    }
  }
  return out;
}

export function rankCandidates(input: RankingInput): Candidate[] {
  const { alertedServices } = input;
  const graph = buildGraph(input.topology, input.evidence);
  const symptoms = alertSymptoms(input.alerts);
  const focused = focusOnSymptom(attributeEdgeFindings(input.evidence, graph), symptoms);
  const induced = callerInducedDemand(focused, graph);
  const evidence = withoutFindings(focused, induced);
  const saturated = saturatedServices(evidence);
  const strengths = withSaturation(serviceStrengths(evidence), saturated);
  const onsets = serviceOnsets(evidence);
  const profiles = symptomProfiles(evidence);
  const anomaly = combinedAnomaly(strengths);
  const shared = sharedCallers(graph, anomaly, profiles);
  for (const [svc, v] of shared) anomaly.set(svc, Math.max(anomaly.get(svc) ?? 0, v.strength));
  const explanation: ExplanationContext = { profiles, saturated: new Set(saturated.keys()), apartFrom: anomalyApartFrom(evidence, saturated) };
  // A callee whose slowdown covers its caller's is as anomalous as the caller's slowness it causes
  // (to a fixed point, so it passes down a chain of waiting callers).
  const covered = latencyCoveredBy(evidence, graph);
  const lifted = new Map<string, { caller: string; share: number }>();
  for (let changed = true, pass = 0; changed && pass < graph.nodes.length; pass++) {
    changed = false;
    for (const [callee, callers] of [...covered].sort((a, b) => cmp(a[0], b[0])))
      for (const { caller, share } of callers) {
        if (calleeExplains(caller, callee, onsets, explanation) <= 0) continue;
        const v = (anomaly.get(caller) ?? 0) * share;
        if (v > (anomaly.get(callee) ?? 0) + 1e-12) {
          anomaly.set(callee, v);
          lifted.set(callee, { caller, share });
          changed = true;
        }
      }
  }
  // The share of a callee's anomaly that is its own and not a reading of its caller's telemetry.
  const apartShare = (caller: string, callee: string): number => {
    const apart = explanation.apartFrom?.get(caller);
    const all = anomaly.get(callee) ?? 0;
    return apart && all > 0 ? Math.min(1, (apart.get(callee) ?? 0) / all) : 1;
  };
  const alertedKnown = alertedServices.filter((s) => graph.nodes.includes(s));
  const scope = alertedKnown.length > 0 ? dependencyScope(graph, alertedKnown) : null;
  const tenfold = notWaitedOn(evidence, graph);
  const short = shortOfCallerTime(evidence, graph);
  const async = new Set([...tenfold, ...short]);
  const waitedGraph = withoutEdges(graph, async);
  const reach = alertedKnown.length > 0 ? anomalousReach(waitedGraph, alertedKnown, anomaly) : null;
  // The walk follows explanations of kind, not of time: onsets in coarse or sampled data are
  // too noisy to cut edges of the walk, and onsetFactor already weighs them.
  const ppr = personalizedPageRank(graph, anomaly, {
    explains: (caller, callee) =>
      async.has(`${caller} → ${callee}`) ? 0 : calleeExplains(caller, callee, onsets, { ...explanation, ignoreLaterOnset: true }) * apartShare(caller, callee),
  });
  let pprMax = 0;
  for (const [s, v] of ppr) if ((anomaly.get(s) ?? 0) > 0) pprMax = Math.max(pprMax, v);

  const setAside = new Map<string, string[]>();
  for (const ev of focused)
    for (const f of ev.findings) {
      const caller = induced.get(f.id);
      if (caller === undefined) continue;
      const why = `${f.service}'s ${f.indicator} moved with the trouble of its caller ${caller} (demand its callers send), so it is not counted against ${f.service}`;
      const list = setAside.get(f.service) ?? [];
      if (!list.includes(why)) list.push(why);
      setAside.set(f.service, list);
    }

  const byService = new Map<string, Finding[]>();
  for (const ev of evidence) for (const f of ev.findings) byService.set(f.service, [...(byService.get(f.service) ?? []), f]);

  const candidates: Candidate[] = [];
  const services = [...new Set([...anomaly.keys()])].sort(cmp);
  for (const svc of services) {
    const own = anomaly.get(svc) ?? 0;
    // The callees that slowed together are the evidence against their shared caller, not an
    // explanation of it, unless one's own rise covers the caller's (latencyCoveredBy).
    const together = shared.get(svc);
    const evidenceOnly = (together?.callees ?? []).filter((c) => !(covered.get(c) ?? []).some((x) => x.caller === svc));
    const prop = propagationFactor(svc, anomaly, onsets, withoutEdges(graph, new Set(evidenceOnly.map((c) => `${svc} → ${c}`))), explanation);
    const onF = onsetFactor(svc, onsets);
    const pathF = reach && !reach.has(svc) ? OFF_PATH_FACTOR : 1;
    const pr = pprMax > 0 ? (ppr.get(svc) ?? 0) / pprMax : 0;
    const score = Math.min(1, (1 - PAGERANK_WEIGHT) * own * prop.factor * onF * pathF + PAGERANK_WEIGHT * Math.min(1, pr));
    const findings = [...(byService.get(svc) ?? [])];
    // Strongest finding by normalized score within its source.
    const norm = (f: Finding): number => {
      let max = 0;
      for (const ev of evidence) if (ev.source === f.source) for (const g of ev.findings) max = Math.max(max, g.score);
      return max > 0 ? f.score / max : 0;
    };
    findings.sort((x, y) => norm(y) - norm(x) || cmp(x.id, y.id));
    const top = findings[0];
    const reasons: string[] = [];
    const sourcesSeen = new Set<string>();
    for (const f of findings) {
      if (sourcesSeen.has(f.source)) continue;
      sourcesSeen.add(f.source);
      reasons.push(`${f.source}: ${f.summary}`);
    }
    const mine = onsets.get(svc);
    if (mine) {
      const later = (graph.callers.get(svc) ?? [])
        .map((c) => ({ c, o: onsets.get(c) }))
        .filter((x) => x.o && x.o.at > mine.at)
        .slice(0, 3);
      for (const { c, o } of later)
        if (o)
          reasons.push(
            `${svc}'s ${mine.finding.indicator} onset ${clockTime(mine.at)} precedes its caller ${c}'s ${o.finding.indicator} ${clockTime(o.at)}`,
          );
    }
    if (prop.explainedBy) {
      const o = onsets.get(prop.explainedBy);
      reasons.push(
        `callee ${prop.explainedBy} is also anomalous (relative strength ${formatNumber(anomaly.get(prop.explainedBy) ?? 0)} vs ${formatNumber(own)})${
          o ? ` from ${clockTime(o.at)}` : ''
        }, which may explain ${svc}'s anomaly`,
      );
    } else if ((graph.callees.get(svc) ?? []).length > 0 && prop.healthyCallees.length > 0) {
      reasons.push(`callees ${prop.healthyCallees.join(', ')} show no anomaly`);
    }
    const notWaited = (graph.callers.get(svc) ?? []).filter((c) => tenfold.has(`${c} → ${svc}`));
    const sliver = (graph.callers.get(svc) ?? []).filter((c) => short.has(`${c} → ${svc}`) && !tenfold.has(`${c} → ${svc}`));
    if (sliver.length > 0)
      reasons.push(
        `${svc} got slower per request than its caller(s) ${sliver.join(', ')}, yet all its requests took less than ${Math.round(100 * COVERED_SHARE)}% of the extra time theirs did: they did not wait on it for most of their slowness`,
      );
    if (notWaited.length > 0)
      reasons.push(`${svc}'s latency rose ${NOT_WAITED_RATIO}× more than that of its caller(s) ${notWaited.join(', ')}: they do not wait on it, so their slowness is not its doing`);
    const waited = lifted.get(svc);
    if (waited)
      reasons.push(`${svc}'s latency rose by ${Math.round(100 * waited.share)}% of what its caller ${waited.caller}'s rose by: ${waited.caller} is slow waiting for ${svc}`);
    if (together) reasons.push(`${together.callees.length} of its ${(graph.callees.get(svc) ?? []).length} callees (${together.callees.join(', ')}) slowed together: what they share is ${svc}`);
    reasons.push(...(setAside.get(svc) ?? []));
    if (scope && !scope.has(svc)) reasons.push(`${svc} is not a dependency of the alerted ${alertedKnown.join(', ')}`);
    else if (reach && !reach.has(svc)) reasons.push(`no chain of anomalous calls leads from ${alertedKnown.join(', ')} to ${svc}`);
    const instance = dominantInstance(findings);
    candidates.push({
      service: svc,
      ...(instance ? { instance } : {}),
      ...(top ? { indicator: indicatorOf(top) } : {}),
      score,
      reasons,
      findingIds: findings.slice(0, 10).map((f) => f.id),
    });
  }
  // Services without evidence, only where they are dependencies of the alerted services.
  if (scope)
    for (const svc of [...scope].sort(cmp))
      if (!anomaly.has(svc))
        candidates.push({
          service: svc,
          score: 0,
          reasons: [
            `no anomaly found; listed because ${svc} is in the dependency scope of ${alertedKnown.join(', ')}`,
            ...(setAside.get(svc) ?? []),
          ],
          findingIds: [],
        });
  candidates.sort((a, b) => b.score - a.score || cmp(a.service, b.service));
  return candidates;
}
