/**
 * Cross-group correlation, the state of the namespace's correlator workflow: which
 * alerts fire that may inhibit alerts of other groups, and which incidents are open
 * on which services, so an alert group about to open an incident joins a linked one
 * instead (same service, or services the CMDB topology links, alerted within a window).
 * One update at a time decides (the correlator is a workflow), so two groups opening
 * at once cannot both miss each other.
 * Pure module: safe to import from workflow code.
 */
import type { Topology } from '../schemas/telemetry.js';
import { compileRules, equalKey, findInhibitor, labelNamesOf, matchesAll, type CompiledRule, type Inhibition, type LabelledAlert } from './matchers.js';
import type { InhibitRule } from './settings.js';

/** The correlator of a task queue (tests run many queues on one namespace). */
export function correlatorIdFor(taskQueue: string): string {
  return `vigil-alert-correlator-${taskQueue}`;
}

/**
 * The task queue the correlator of `taskQueue` runs on: its own, polled by a worker of its
 * own beside each vigil worker (src/worker/create-worker.ts), so its workflow tasks never
 * wait behind the alert groups' backlog. (A correlator started before it had one keeps
 * the queue it started on; every vigil worker polls that one too.)
 */
export function correlatorTaskQueueFor(taskQueue: string): string {
  return `${taskQueue}-correlator`;
}

/** "payment calls payments-db": `service` is the candidate's, `other` the linked one. */
export interface ServiceLink {
  service: string;
  other: string;
  relation: string;
}

export interface SourceEntry {
  group: string;
  fingerprint: string;
  labels: Record<string, string>;
  expiresAtMs: number;
  /** Workflow time the correlator first held it (absent in states carried from before it was kept: long ago). */
  sinceMs?: number;
}

export interface IncidentEntry {
  incidentId: string;
  ownerGroup: string;
  services: string[];
  /** startsAt range of its alerts (epoch ms). */
  firstAtMs: number;
  lastAtMs: number;
  /** Workflow time of the last registration or merge. */
  touchedMs: number;
}

export interface CorrelatorState {
  sources: SourceEntry[];
  incidents: IncidentEntry[];
}

export interface IncidentCandidate {
  /** The id the group will give its incident if nothing links. */
  incidentId: string;
  services: string[];
  links: ServiceLink[];
  /** Earliest startsAt of the alerts that would open it (epoch ms). */
  atMs: number;
  windowSeconds: number;
  /** The new firing alerts that would open it; inhibited ones are left out. */
  fingerprints: string[];
}

export interface CorrelateRequest {
  group: string;
  rules: InhibitRule[];
  addSources: LabelledAlert[];
  removeSources: string[];
  targets: LabelledAlert[];
  candidate?: IncidentCandidate;
  closed?: string[];
  /** How long a registered source inhibits without being re-registered. @default 4h */
  sourceTtlSeconds?: number;
  /**
   * Targets the group already routed (a routing lease's 202 sent them to its incident):
   * which of them a source of another group inhibited when the group took them (`atMs`),
   * for the record only. They ride along with the group's next call.
   */
  audits?: AuditTarget[];
}

export interface AuditTarget extends LabelledAlert {
  /** Workflow time the group took the alert. */
  atMs: number;
}

export interface CorrelateResponse {
  inhibited: Record<string, Inhibition>;
  /** Of the audited targets, those a source held since before the group took them inhibits. */
  audited?: Record<string, Inhibition>;
  /** For a candidate with something left to open: where its alerts go. */
  incident?: { incidentId: string; ownerGroup: string; mergeRule?: string };
  /** Answers recorded before ingest read the inhibition view itself carried one (replay only). */
  inhibitors?: InhibitionView;
}

/**
 * Per rule index, the `equal` keys (matchers.ts equalKey) of the firing sources of that
 * rule: a target of the rule is inhibited now exactly when its own key is listed (unless it
 * also matches the rule's source side). null for a rule with more keys than
 * MAX_VIEW_KEYS: then the view does not say.
 */
export type InhibitionView = Record<string, string[] | null>;

/** Keys per rule beyond which the view of that rule is not listed. */
export const MAX_VIEW_KEYS = 256;

/** The view of the correlator's unexpired sources under `rules` (its query: ingest reads it for routing leases). */
export function currentInhibitionView(state: CorrelatorState, rules: readonly InhibitRule[], nowMs: number): InhibitionView {
  return inhibitionView(compileRules(rules), state.sources.filter((s) => s.expiresAtMs > nowMs));
}

/** The inhibition view of a set of firing sources under `rules`. */
export function inhibitionView(rules: readonly CompiledRule[], sources: readonly Pick<SourceEntry, 'labels'>[]): InhibitionView {
  const view: InhibitionView = {};
  for (const rule of rules) {
    const keys = new Set<string>();
    for (const s of sources) if (matchesAll(rule.source, s.labels)) keys.add(equalKey(rule, s.labels));
    view[String(rule.index)] = keys.size > MAX_VIEW_KEYS ? null : [...keys];
  }
  return view;
}

const DEFAULT_SOURCE_TTL_SECONDS = 4 * 3600;
const MAX_SOURCES = 20_000;
const MAX_INCIDENTS = 5_000;

export function emptyCorrelatorState(): CorrelatorState {
  return { sources: [], incidents: [] };
}

/** Applies one request; returns the new state and the answer. */
export function correlate(state: CorrelatorState, req: CorrelateRequest, nowMs: number): { state: CorrelatorState; response: CorrelateResponse } {
  const closed = new Set(req.closed ?? []);
  const removed = new Set(req.removeSources.map((fp) => `${req.group}\u0000${fp}`));
  const ttl = (req.sourceTtlSeconds ?? DEFAULT_SOURCE_TTL_SECONDS) * 1000;
  const rules = compileRules(req.rules);
  // A source keeps only the labels some rule reads: the state (carried across
  // continue-as-new in one payload) stays small however many labels alerts carry. Groups
  // share one rule set (vigil.yaml aggregation.inhibitRules), so what one reads, all read.
  const wanted = labelNamesOf(rules);
  const keep = (labels: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(labels).filter(([k]) => wanted.has(k)));
  const added = new Map(req.addSources.map((a) => [`${req.group}\u0000${a.fingerprint}`, a]));
  /** A source registered again keeps the time it was first held. */
  const heldSince = new Map<string, number | undefined>();
  const sources: SourceEntry[] = state.sources.filter((s) => {
    const key = `${s.group}\u0000${s.fingerprint}`;
    if (added.has(key) && s.expiresAtMs > nowMs && !removed.has(key)) heldSince.set(key, s.sinceMs ?? 0);
    return s.expiresAtMs > nowMs && !removed.has(key) && !added.has(key);
  });
  for (const [key, a] of added) sources.push({ group: req.group, fingerprint: a.fingerprint, labels: keep(a.labels), expiresAtMs: nowMs + ttl, sinceMs: heldSince.get(key) ?? nowMs });
  if (sources.length > MAX_SOURCES) sources.splice(0, sources.length - MAX_SOURCES);

  let incidents = state.incidents.filter((i) => !closed.has(i.incidentId) && i.touchedMs + retentionMs(i) > nowMs);

  const response: CorrelateResponse = { inhibited: {} };
  if (rules.length > 0) {
    const firing = sources.map((s) => ({ fingerprint: s.fingerprint, labels: s.labels, group: s.group }));
    for (const t of req.targets) {
      const hit = findInhibitor(
        rules,
        t,
        firing.filter((s) => !(s.group === req.group && s.fingerprint === t.fingerprint)),
      );
      if (hit) response.inhibited[t.fingerprint] = hit.sourceGroup === req.group ? { rule: hit.rule, sourceFingerprint: hit.sourceFingerprint } : hit;
    }
    for (const t of req.audits ?? []) {
      // Only another group's sources (the group checked its own when it took the alert), held by then.
      const hit = findInhibitor(rules, t, firing.filter((s, i) => s.group !== req.group && (sources[i]?.sinceMs ?? 0) <= t.atMs));
      if (hit) (response.audited ??= {})[t.fingerprint] = hit;
    }
  }

  const cand = req.candidate;
  if (cand && cand.fingerprints.some((fp) => !response.inhibited[fp])) {
    const link = cand.windowSeconds > 0 ? findLinkedIncident(incidents, cand, req.group) : undefined;
    if (link) {
      const entry = link.entry;
      incidents = incidents.map((i) =>
        i === entry
          ? { ...i, services: [...new Set([...i.services, ...cand.services])], firstAtMs: Math.min(i.firstAtMs, cand.atMs), lastAtMs: Math.max(i.lastAtMs, cand.atMs), touchedMs: nowMs }
          : i,
      );
      response.incident = { incidentId: entry.incidentId, ownerGroup: entry.ownerGroup, mergeRule: link.rule };
    } else {
      incidents.push({ incidentId: cand.incidentId, ownerGroup: req.group, services: [...cand.services], firstAtMs: cand.atMs, lastAtMs: cand.atMs, touchedMs: nowMs });
      if (incidents.length > MAX_INCIDENTS) incidents.splice(0, incidents.length - MAX_INCIDENTS);
      response.incident = { incidentId: cand.incidentId, ownerGroup: req.group };
    }
  }
  return { state: { sources, incidents }, response };
}

/**
 * The state cut to at most `maxBytes` of JSON (what continue-as-new carries in one
 * payload; Temporal refuses payloads over 2 MB): the sources that expire first and the
 * incidents touched longest ago go first, in turns. Says how many were dropped.
 */
export function boundCorrelatorState(state: CorrelatorState, maxBytes: number): { state: CorrelatorState; dropped: { sources: number; incidents: number } } {
  const size = (s: CorrelatorState): number => JSON.stringify(s).length;
  if (size(state) <= maxBytes) return { state, dropped: { sources: 0, incidents: 0 } };
  const sources = [...state.sources].sort((a, b) => a.expiresAtMs - b.expiresAtMs);
  const incidents = [...state.incidents].sort((a, b) => a.touchedMs - b.touchedMs);
  let s = 0;
  let i = 0;
  const current = (): CorrelatorState => ({ sources: sources.slice(s), incidents: incidents.slice(i) });
  while ((s < sources.length || i < incidents.length) && size(current()) > maxBytes) {
    // Drop a tenth of what is left of each kind per round (cheap on big states).
    const ds = Math.max(1, Math.ceil((sources.length - s) / 10));
    const di = Math.max(1, Math.ceil((incidents.length - i) / 10));
    if (s < sources.length) s = Math.min(sources.length, s + ds);
    if (i < incidents.length) i = Math.min(incidents.length, i + di);
  }
  return { state: current(), dropped: { sources: s, incidents: i } };
}

function retentionMs(i: IncidentEntry): number {
  // Long enough for any merge window; closed incidents leave earlier (closed list).
  return 24 * 3600 * 1000 + (i.lastAtMs - i.firstAtMs);
}

/** The open incident of another group linked to the candidate, closest in time first. */
export function findLinkedIncident(
  incidents: readonly IncidentEntry[],
  cand: IncidentCandidate,
  group: string,
): { entry: IncidentEntry; rule: string } | undefined {
  const windowMs = cand.windowSeconds * 1000;
  let best: { entry: IncidentEntry; rule: string; gap: number } | undefined;
  for (const entry of incidents) {
    if (entry.ownerGroup === group) continue;
    const gap = cand.atMs < entry.firstAtMs ? entry.firstAtMs - cand.atMs : cand.atMs > entry.lastAtMs ? cand.atMs - entry.lastAtMs : 0;
    if (gap > windowMs) continue;
    const apart = `alerted ${Math.round(gap / 1000)}s apart, window ${cand.windowSeconds}s`;
    let rule: string | undefined;
    const same = cand.services.find((s) => entry.services.includes(s));
    if (same) rule = `same service: ${same} (${apart})`;
    else {
      const l = cand.links.find((x) => entry.services.includes(x.other));
      if (l) rule = `topology: ${l.service} ${l.relation} ${l.other} (${apart})`;
    }
    if (rule && (!best || gap < best.gap)) best = { entry, rule, gap };
  }
  return best ? { entry: best.entry, rule: best.rule } : undefined;
}

/** The topology links of `services`: whom each calls, and who calls it. */
export function linksFor(topology: Pick<Topology, 'edges'>, services: readonly string[]): ServiceLink[] {
  const out: ServiceLink[] = [];
  const want = new Set(services);
  for (const e of topology.edges) {
    const kind = e.kind || 'calls';
    if (want.has(e.source) && e.target !== e.source) out.push({ service: e.source, other: e.target, relation: kind });
    if (want.has(e.target) && e.target !== e.source) out.push({ service: e.target, other: e.source, relation: `is ${kind === 'calls' ? 'called' : kind} by` });
  }
  return out;
}
