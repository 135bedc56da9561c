/**
 * Topology analysis: the dependency graph (edge source = caller / dependent,
 * target = callee / dependency), the blast radius of the alerted services and the
 * recent changes that could explain the incident.
 *
 * Blast radius = the alerted services, plus their transitive dependencies
 * (downstream: services whose failure can surface at the alerted ones, i.e. the
 * candidate causes), plus their transitive dependents (upstream: services whose
 * users are affected too). Sorted by name.
 *
 * Changes (deploy, config, scale, restart, flag) on any service within
 * `changeWindowSeconds` before incidentStart become findings scored by recency
 * (1 just before the incident, falling linearly to 0 at the edge of the window),
 * doubled for changes inside the blast radius. Pure and deterministic.
 */
import type { Topology } from '../schemas/telemetry.js';
import type { Finding, TopologyEvidence } from '../schemas/evidence.js';
import { byScoreThenKey, clockTime, sanitizeQuote } from './robust-stats.js';

export interface AnalyzeTopologyInput {
  topology: Topology | null;
  alertedServices: string[];
  incidentStart: number;
  /** How far back a change counts as recent. @default 3600 */
  changeWindowSeconds?: number;
}

/** Services reachable from `start` following `next` (excluding the start nodes themselves unless reached again). */
export function reachable(start: readonly string[], next: (s: string) => readonly string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...start];
  while (stack.length > 0) {
    const s = stack.pop() as string;
    for (const n of next(s)) {
      if (seen.has(n)) continue;
      seen.add(n);
      stack.push(n);
    }
  }
  return seen;
}

/** Callees and callers of each service. */
export function adjacency(topology: Pick<Topology, 'edges'>): {
  callees: Map<string, string[]>;
  callers: Map<string, string[]>;
} {
  const callees = new Map<string, string[]>();
  const callers = new Map<string, string[]>();
  for (const e of topology.edges) {
    if (e.source === e.target) continue;
    const a = callees.get(e.source) ?? [];
    if (!a.includes(e.target)) a.push(e.target);
    callees.set(e.source, a);
    const b = callers.get(e.target) ?? [];
    if (!b.includes(e.source)) b.push(e.source);
    callers.set(e.target, b);
  }
  for (const m of [callees, callers]) for (const v of m.values()) v.sort();
  return { callees, callers };
}

/** Downstream (dependencies) and upstream (dependents) of the alerted services. */
export function blastRadius(
  topology: Pick<Topology, 'edges'>,
  alerted: readonly string[],
): { downstream: string[]; upstream: string[]; all: string[] } {
  const { callees, callers } = adjacency(topology);
  const down = reachable(alerted, (s) => callees.get(s) ?? []);
  const up = reachable(alerted, (s) => callers.get(s) ?? []);
  const all = new Set<string>([...alerted, ...down, ...up]);
  return { downstream: [...down].sort(), upstream: [...up].sort(), all: [...all].sort() };
}

export function analyzeTopology(input: AnalyzeTopologyInput): TopologyEvidence {
  const { topology, alertedServices, incidentStart } = input;
  const windowS = input.changeWindowSeconds ?? 3600;
  if (!topology) {
    return { source: 'topology', status: 'missing', error: 'no topology', findings: [], stats: {}, topology: null, blastRadius: [] };
  }
  const radius = blastRadius(topology, alertedServices);
  const inRadius = new Set(radius.all);
  const findings: Finding[] = [];
  for (const c of topology.changes) {
    const age = incidentStart - c.at;
    if (age < 0 || age > windowS) continue;
    const recency = 1 - age / windowS;
    const score = recency * (inRadius.has(c.service) ? 2 : 1);
    const mins = Math.round(age / 60);
    findings.push({
      id: `topology:${c.service}:change:${c.kind}:${c.at}`,
      source: 'topology',
      service: c.service,
      indicator: `change:${c.kind}`,
      score,
      onset: c.at,
      summary: `${c.kind} of ${c.service} at ${clockTime(c.at)} (${mins} min before the incident)${c.release ? `, release ${sanitizeQuote(c.release, 60)}` : ''}: ${sanitizeQuote(c.description)}`,
      direction: 'none',
    });
  }
  findings.sort(byScoreThenKey((f) => f.score, (f) => f.id));
  return {
    source: 'topology',
    status: 'ok',
    findings,
    stats: {
      services: topology.services.length,
      edges: topology.edges.length,
      downstream: radius.downstream.length,
      upstream: radius.upstream.length,
      recentChanges: findings.length,
    },
    topology,
    blastRadius: radius.all,
  };
}
