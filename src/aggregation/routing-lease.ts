/**
 * Routing leases: how ingest can name an alert's incident in its 202 without waiting for
 * the group workflow, and stay right.
 *
 * Every answer of a group names the incident its new alerts join now (pending, open or
 * linked) and the fingerprints it holds that would *not* go there (suppressed, resolved,
 * or routed to an incident that has closed). Within the lease's lifetime, a batch of
 * firing alerts none of which is an inhibition target or one of those exceptions goes
 * exactly where the group's own routing would send it: to that incident (new alerts join
 * the current incident; a redelivery stays where it is, which is the same incident). So
 * ingest hands such a batch over with signalWithStart (durable once it returns) and
 * answers with the leased incident; anything else asks the group (update-with-start).
 *
 * The one race left is the one the group already had: the incident closes between the
 * answer and the group taking the batch. The alerts then open or join the next incident,
 * like alerts queued for a flush when an incident closes, and the group records the
 * broken promise (`promised` on the alert record, `promisesBroken` in its counters).
 * Pure module: safe to import from workflow code.
 */
import type { Alert } from '../schemas/alert.js';
import { currentIncident, type GroupState } from './group-state.js';

/** How long ingest uses a group's lease after the group's last answer (ingest.routingLeaseSeconds). */
export const DEFAULT_ROUTING_LEASE_SECONDS = 30;

/** More exceptions than this and the lease lists none (null): every batch asks the group. */
export const MAX_LEASE_EXCEPTIONS = 256;

export interface RoutingLease {
  /** The incident the group's new firing alerts join now. */
  incidentId: string;
  /** Fingerprints the group holds that would not go there; null when there are too many to list. */
  exceptions: string[] | null;
}

/** The group's lease as of now, or undefined when it has no current incident (the next alert decides one). */
export function leaseOf(state: GroupState): RoutingLease | undefined {
  const current = currentIncident(state);
  if (!current) return undefined;
  const exceptions: string[] = [];
  for (const rec of Object.values(state.alerts)) {
    if (rec.incidentId === current.id && !rec.suppressed && rec.status === 'firing') continue;
    exceptions.push(rec.fingerprint);
    if (exceptions.length > MAX_LEASE_EXCEPTIONS) return { incidentId: current.id, exceptions: null };
  }
  return { incidentId: current.id, exceptions };
}

/**
 * The incident a batch goes to under a lease, or undefined when the group must decide:
 * a resolved alert, a possible inhibition target, or a fingerprint the lease lists.
 */
export function promisedIncident(lease: RoutingLease, alerts: readonly Pick<Alert, 'fingerprint' | 'status' | 'labels'>[], isInhibitionTarget: (alert: Pick<Alert, 'fingerprint' | 'labels'>) => boolean): string | undefined {
  if (lease.exceptions === null) return undefined;
  const exceptions = new Set(lease.exceptions);
  for (const a of alerts) {
    if (a.status !== 'firing' || exceptions.has(a.fingerprint) || isInhibitionTarget(a)) return undefined;
  }
  return lease.incidentId;
}
