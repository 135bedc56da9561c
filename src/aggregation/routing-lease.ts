/**
 * Routing leases: how ingest can name an alert's incident in its 202 without waiting for
 * the group workflow, and stay right.
 *
 * Every answer of a group names the incident its new alerts join now (pending, open or
 * linked) and the fingerprints it holds that would *not* go there (suppressed, resolved,
 * or routed to an incident that has closed). Which targets of each inhibit rule are
 * inhibited now is the correlator's to say, not a group's: ingest reads that view from
 * the correlator itself (its `inhibition-view` query, at most INHIBITION_VIEW_SECONDS old)
 * and lays it over every lease. Within the lease's lifetime, a batch of firing alerts
 * none of which is one of those exceptions goes exactly where the group's own routing
 * would send it: an inhibited target is suppressed, every other alert joins that incident
 * (a redelivery stays where it is, which is the same incident). So ingest hands such a batch over with
 * signalWithStart (durable once it returns) and answers from the lease; anything else
 * asks the group (update-with-start).
 *
 * A lease never names an incident that is closing, and the incident does not close under
 * it: when its pipeline ends it tells its group, which tells the groups linked to it; the
 * owner releases it only once every lease that may name it has run out (routingLeaseSeconds
 * plus a clock margin after a sender last asked for or used one, or after it began closing
 * when other groups' alerts joined it), handing it meanwhile the alerts sent under those
 * leases. Ingest asks for a lease only for a group it sent a batch within the lease's
 * lifetime: a group that hears from a sender once per group_interval never has one. The
 * race left is an inhibiting alert that starts or stops firing between the view and the
 * group taking the batch (or clocks further apart than the margin). A target the 202
 * sent to the incident goes there; the group checks it against the sources of its own at
 * once and against other groups' with its next correlator call (`inhibitedAfterPromise`
 * on the record when a source held by then would have muted it). Anything else the group
 * decides on what holds when it takes the batch, recording each broken promise
 * (`promised` on the alert record, `promisesBroken` in its counters).
 * Pure module: safe to import from workflow code.
 */
import type { Alert } from '../schemas/alert.js';
import type { InhibitionView } from './correlation.js';
import { currentIncident, type GroupState } from './group-state.js';
import { equalKey, matchesAll, type CompiledRule } from './matchers.js';

/** Ingest settles inhibition targets only with a correlator view at most this old. */
export const INHIBITION_VIEW_SECONDS = 10;

/**
 * A closing incident is held this much past the last lease that may name it: the sender
 * measures a lease from when it asked, the group from when it answered, on two clocks.
 */
export const LEASE_CLOCK_MARGIN_MS = 5_000;

/** More exceptions than this and the lease lists none (null): every batch asks the group. */
export const MAX_LEASE_EXCEPTIONS = 256;

export interface RoutingLease {
  /**
   * Workflow time the group gave it (the time of its last workflow task: never later than
   * the answer). The sender holds it routingLeaseSeconds from this or from when it asked,
   * whichever is later; both come before the answer, which the group's hold counts from.
   */
  atMs: number;
  /** The incident the group's new firing alerts join now; null when it has none (then only inhibited alerts are settled). */
  incidentId: string | null;
  /** Fingerprints the group holds that would not go there; null when there are too many to list. */
  exceptions: string[] | null;
  /** Which targets each inhibit rule inhibits now (correlation.ts InhibitionView): the correlator's, laid over by ingest; absent: ask about targets. */
  inhibitors?: InhibitionView;
}

/** The group's lease as of `nowMs`; without a current incident it settles only alerts an inhibition view says are inhibited. */
export function leaseOf(state: GroupState, nowMs: number): RoutingLease {
  const current = currentIncident(state);
  const incidentId = current?.id ?? null;
  const exceptions: string[] = [];
  for (const rec of Object.values(state.alerts)) {
    if (current && rec.incidentId === current.id && !rec.suppressed && rec.status === 'firing') continue;
    exceptions.push(rec.fingerprint);
    if (exceptions.length > MAX_LEASE_EXCEPTIONS) return { atMs: nowMs, incidentId, exceptions: null };
  }
  return { atMs: nowMs, incidentId, exceptions };
}

/** What the lease says of a batch: the incident its alerts join (null: all are inhibited), and which of them are inhibited. */
export interface LeasePromise {
  incidentId: string | null;
  suppressed: string[];
}

/**
 * Where a batch goes under a lease, or undefined when the group must decide: a resolved
 * alert, a fingerprint the lease lists, or an inhibition target the lease's view does not
 * settle (no view of its rule, or the target also matches the rule's source side).
 */
export function promisedIncident(lease: RoutingLease, alerts: readonly Pick<Alert, 'fingerprint' | 'status' | 'labels'>[], rules: readonly CompiledRule[]): LeasePromise | undefined {
  if (lease.exceptions === null) return undefined;
  const exceptions = new Set(lease.exceptions);
  const suppressed: string[] = [];
  for (const a of alerts) {
    if (a.status !== 'firing' || exceptions.has(a.fingerprint)) return undefined;
    let inhibited = false;
    for (const rule of rules) {
      if (!matchesAll(rule.target, a.labels)) continue;
      const keys = lease.inhibitors?.[String(rule.index)];
      if (!keys || matchesAll(rule.source, a.labels)) return undefined;
      if (keys.includes(equalKey(rule, a.labels))) inhibited = true;
    }
    if (inhibited) suppressed.push(a.fingerprint);
    // Without a current incident, an alert that is not inhibited opens one: the group decides.
    else if (lease.incidentId === null) return undefined;
  }
  return { incidentId: lease.incidentId, suppressed };
}
