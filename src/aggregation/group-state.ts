/**
 * The state an alert group workflow carries (across continue-as-new, as plain JSON) and
 * the pure decisions on it: alert lifecycle dedup, which incident is current, pruning.
 * Pure module: safe to import from workflow code.
 */
import type { Alert, Severity } from '../schemas/alert.js';
import type { AggregationSettings } from './settings.js';
import type { RoutingLease } from './routing-lease.js';
import type { AuditTarget, InhibitionView } from './correlation.js';
import type { RegisteredSources } from './source-registry.js';

/** What happened to one delivered alert. */
export type Disposition =
  | 'opened' // the first alert(s) of a new incident of this group
  | 'joined' // joined the group's current incident
  | 'merged' // joined another group's incident (topology or same service)
  | 'duplicate' // a redelivery of a lifecycle already handled: nothing changed
  | 'resolved' // the resolution of a handled alert, recorded (and forwarded)
  | 'recorded' // a resolved alert whose firing was never seen here
  | 'inhibited'
  | 'flapping';

export interface Route {
  fingerprint: string;
  /** The incident the alert went to; null when it was suppressed or only recorded. */
  incidentId: string | null;
  disposition: Disposition;
  /** Why (inhibition rule, flapping, merge rule). */
  reason?: string;
}

/** The update's answer: where each alert of the batch went, and the group's routing lease after it. */
export interface DeliveryResult {
  groupId: string;
  routes: Route[];
  lease?: RoutingLease;
}

export interface AlertRecord {
  fingerprint: string;
  /** The lifecycle: an alert is identified by fingerprint + startsAt. */
  startsAt: string;
  status: 'firing' | 'resolved';
  /** Kept only for alerts that may inhibit others (inhibition sources); {} otherwise. */
  labels: Record<string, string>;
  incidentId: string | null;
  suppressed?: { reason: 'inhibited' | 'flapping'; detail: string };
  /** Fire/resolve times (epoch ms, alert time) inside the flapping window. */
  transitions: number[];
  /** Workflow time it was last delivered. */
  seenMs: number;
  /** Where ingest's 202 had sent it under a lease (an incident, or `suppressed`), when it went elsewhere. */
  promised?: string;
  /**
   * What would have inhibited it when the group took it: an inhibiting alert began firing
   * after a lease's 202 sent it to its incident, and the 202 was kept.
   */
  inhibitedAfterPromise?: string;
}

export interface MergeRecord {
  rule: string;
  fromGroup: string;
  fingerprints: string[];
  atMs: number;
}

export type IncidentState = 'pending' | 'open' | 'linked' | 'closing' | 'closed';

export interface GroupIncident {
  id: string;
  /**
   * pending: in group_wait; open: the incident workflow runs; linked: another group's
   * incident this group's alerts join; closing: its pipeline ended and it waits for the
   * group to hand over what was promised to it (new alerts no longer join it); closed.
   */
  state: IncidentState;
  ownerGroup: string;
  severity: Severity;
  fingerprints: string[];
  /** pending: when group_wait ends. */
  openAtMs?: number;
  openedMs?: number;
  lastFlushMs?: number;
  /** pending: the alerts to start with; open: the queue for the next group_interval flush. */
  queue: Alert[];
  /** Notes for the incident's timeline (merges), sent with the start or the next flush. */
  notes: string[];
  merges: MergeRecord[];
  /** Groups whose alerts merged into this (owned) incident: they hear when it closes. */
  linkedGroups: string[];
  /** Fingerprint → group, for other groups' alerts queued here. */
  foreign?: Record<string, string>;
  outcome?: string;
  closedMs?: number;
  /** closing: since when, and when the group releases it (routing leases that may name it have run out). */
  closingMs?: number;
  releaseAtMs?: number;
  /** closing: when the group released it; alerts arriving later no longer reach it. */
  releasedMs?: number;
  /** closing (owned): linked groups that have not yet said they passed on all their leases promised it. */
  unheard?: string[];
  /** closing (linked): when this group tells the owner that its leases naming it have run out. */
  ackAtMs?: number;
  /** closing: alerts handed over after it said it was closing. */
  handedAtClose?: number;
}

/** What a sender's routing lease told it of a batch: the incident its 202 named, and the alerts it read as inhibited. */
export interface LeaseClaim {
  incidentId: string;
  suppressed: ReadonlySet<string>;
}

export interface SuppressionRecord {
  fingerprint: string;
  startsAt: string;
  reason: 'inhibited' | 'flapping';
  detail: string;
  atMs: number;
}

export interface GroupCounters {
  deliveries: number;
  alerts: number;
  duplicates: number;
  inhibited: number;
  flapping: number;
  merged: number;
  incidentsOpened: number;
  continuedAsNew: number;
  /** Alerts that did not go to the incident the sender was told (it closed before they reached it). */
  promisesBroken?: number;
  /** Alerts sent to the incident a lease's 202 named although an inhibiting alert was firing when the group took them (checked with the group's own sources at once, other groups' at its next correlator call). */
  keptOverInhibition?: number;
  /** Firing alerts that reached an incident after its diagnosis, handed back at its close and routed again (a follow-up incident). */
  followUps?: number;
}

export interface GroupState {
  seq: number;
  alerts: Record<string, AlertRecord>;
  incidents: GroupIncident[];
  suppressions: SuppressionRecord[];
  /** Recent delivery ids: an identical redelivery is answered from the records at once. */
  deliveries: string[];
  /** Closures the correlator has not heard of yet. */
  closedToReport: string[];
  flushSeq: number;
  counters: GroupCounters;
  /** When the group adopted settings a sender offered (a changed configuration), and which keys changed. */
  settingsChanges?: { atMs: number; changed: string[] }[];
  /** Targets a lease's 202 sent to the incident, not yet checked against other groups' sources (they ride along with the next correlator call). */
  audits?: AuditTarget[];
  /** Groups that ran before ingest read the inhibition view itself kept the correlator's (kept for their replay; see AUDIT_LEASED_TARGETS_PATCH). */
  inhibitors?: { atMs: number; view: InhibitionView };
  /** The group's sources the correlator holds, one per signature (source-registry.ts). */
  registeredSources?: RegisteredSources;
  /** Workflow time a sender last asked for or used the routing lease (lease data is kept only while it does). */
  leaseAskedMs?: number;
}

export interface AlertGroupInput {
  groupKey: string;
  groupId: string;
  /** Prefix of this group's incident ids: `<prefix>-<n>`. */
  incidentPrefix: string;
  settings: AggregationSettings;
  /** Carried over by continue-as-new. */
  state?: GroupState;
}

export function emptyGroupState(): GroupState {
  return {
    seq: 0,
    alerts: {},
    incidents: [],
    suppressions: [],
    deliveries: [],
    closedToReport: [],
    flushSeq: 0,
    counters: { deliveries: 0, alerts: 0, duplicates: 0, inhibited: 0, flapping: 0, merged: 0, incidentsOpened: 0, continuedAsNew: 0 },
  };
}

export type Lifecycle = 'new' | 'duplicate' | 'stale' | 'resolution';

/**
 * Where an arriving alert stands against what the group has seen of its fingerprint:
 * a later startsAt is a new lifecycle (the alert fired again), an earlier one a stale
 * redelivery, the same one a duplicate unless it is the resolution of a firing alert.
 */
export function classify(rec: Pick<AlertRecord, 'startsAt' | 'status'> | undefined, alert: Pick<Alert, 'startsAt' | 'status'>): Lifecycle {
  if (!rec) return 'new';
  const a = Date.parse(alert.startsAt);
  const r = Date.parse(rec.startsAt);
  if (a > r) return 'new';
  if (a < r) return 'stale';
  if (rec.status === 'firing' && alert.status === 'resolved') return 'resolution';
  return 'duplicate';
}

/** The incident new alerts of this group join now, if any (not one that is closing). */
export function currentIncident(state: GroupState): GroupIncident | undefined {
  for (let i = state.incidents.length - 1; i >= 0; i--) {
    const inc = state.incidents[i];
    if (inc && inc.state !== 'closed' && inc.state !== 'closing') return inc;
  }
  return undefined;
}

/** The time of an alert event for flapping: startsAt when firing, endsAt (or now) when resolved. */
export function eventTimeMs(alert: Pick<Alert, 'status' | 'startsAt' | 'endsAt'>, nowMs: number): number {
  const t = Date.parse(alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? ''));
  return Number.isFinite(t) ? t : nowMs;
}

/**
 * Forgets what dedup no longer needs: lifecycles not delivered for the retention that
 * belong to no incident still open here, closed incidents and suppressions beyond the
 * configured counts. Mutates and returns the state.
 */
export function prune(state: GroupState, nowMs: number, settings: Pick<AggregationSettings, 'dedupRetentionSeconds' | 'keepClosedIncidents' | 'keepSuppressions'>): GroupState {
  const live = new Set(state.incidents.filter((i) => i.state !== 'closed').map((i) => i.id));
  const horizon = nowMs - settings.dedupRetentionSeconds * 1000;
  for (const [fp, rec] of Object.entries(state.alerts)) {
    if (rec.seenMs < horizon && !(rec.incidentId && live.has(rec.incidentId))) delete state.alerts[fp];
  }
  const closed = state.incidents.filter((i) => i.state === 'closed');
  if (closed.length > settings.keepClosedIncidents) {
    const drop = new Set(closed.slice(0, closed.length - settings.keepClosedIncidents).map((i) => i.id));
    state.incidents = state.incidents.filter((i) => !drop.has(i.id));
  }
  if (state.suppressions.length > settings.keepSuppressions) state.suppressions.splice(0, state.suppressions.length - settings.keepSuppressions);
  return state;
}
