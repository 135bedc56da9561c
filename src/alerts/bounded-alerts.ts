/**
 * Bounded views of an incident's alerts. An incident in an alert storm can hold tens of
 * thousands of alerts, but Temporal refuses any single payload over 2 MiB (a query
 * answer, an activity input, a workflow result): the status query, the activities and the
 * report get a bounded selection plus the counts, and the paged alerts query lists all.
 * Pure module: safe to import from workflow code.
 */
import { alertService, alertSeverity, type Alert, type Severity } from '../schemas/alert.js';
import type { AlertCounts, AlertsPage, AlertsPageRequest } from '../schemas/incident.js';

/** Alerts the status query (and the workflow's result, and the report) lists at most. */
export const STATUS_ALERTS_LIMIT = 500;
/** Alerts one page of the `incident-alerts` query holds at most (~600 B each: ~300 KB). */
export const ALERTS_PAGE_LIMIT = 500;
/** Alerts an activity input carries at most (ranking, history search, inference). */
export const ACTIVITY_ALERTS_LIMIT = 200;

const SEVERITY_RANK: Record<Severity, number> = { P0: 0, P1: 1, P2: 2, P3: 3, P4: 4 };

export function alertCounts(all: readonly Alert[]): AlertCounts {
  let firing = 0;
  const bySource: Record<string, number> = {};
  for (const a of all) {
    if (a.status === 'firing') firing++;
    bySource[a.source] = (bySource[a.source] ?? 0) + 1;
  }
  return { alertsTotal: all.length, alertsFiring: firing, alertsResolved: all.length - firing, alertsBySource: bySource };
}

/**
 * The order an SRE reads a big incident in: firing before resolved, then the most severe,
 * then the most recent start (what is burning now), then the fingerprint (a stable tie).
 */
function triageOrder(severityMap?: Record<string, Severity>): (a: Alert, b: Alert) => number {
  return (a, b) =>
    (a.status === 'firing' ? 0 : 1) - (b.status === 'firing' ? 0 : 1) ||
    SEVERITY_RANK[alertSeverity(a, severityMap)] - SEVERITY_RANK[alertSeverity(b, severityMap)] ||
    (a.startsAt < b.startsAt ? 1 : a.startsAt > b.startsAt ? -1 : 0) ||
    (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0);
}

/**
 * The alerts the status lists: the incident's first alert (it names the incident, and
 * metrics read the incident's type from it) first, then the rest in triage order (firing,
 * most severe, most recent), at most `limit`. `all` is in arrival order.
 */
export function statusAlerts(all: readonly Alert[], opts: { limit?: number; severityMap?: Record<string, Severity> } = {}): Alert[] {
  const limit = opts.limit ?? STATUS_ALERTS_LIMIT;
  const [first, ...rest] = all;
  if (!first || limit <= 0) return [];
  if (all.length <= limit) return [first, ...[...rest].sort(triageOrder(opts.severityMap))];
  return [first, ...[...rest].sort(triageOrder(opts.severityMap)).slice(0, limit - 1)];
}

/**
 * A bounded set of alerts that still shows every kind of trouble: one alert of each
 * distinct (service, alertname, metric) first, in triage order, then the others in
 * triage order, at most `limit`. For activity inputs (ranking reads symptoms from alert
 * names and summaries; history search and the LLM describe the incident from them).
 */
export function representativeAlerts(alerts: readonly Alert[], opts: { limit?: number; severityMap?: Record<string, Severity> } = {}): Alert[] {
  const limit = opts.limit ?? ACTIVITY_ALERTS_LIMIT;
  if (alerts.length <= limit) return [...alerts];
  const sorted = [...alerts].sort(triageOrder(opts.severityMap));
  const seen = new Set<string>();
  const distinct: Alert[] = [];
  const others: Alert[] = [];
  for (const a of sorted) {
    const key = `${alertService(a) ?? ''}\u0000${a.labels['alertname'] ?? ''}\u0000${a.labels['metric'] ?? a.labels['__name__'] ?? ''}`;
    if (seen.has(key)) others.push(a);
    else {
      seen.add(key);
      distinct.push(a);
    }
  }
  return [...distinct, ...others].slice(0, limit);
}

/**
 * One page of the incident's alerts in arrival order: stable while alerts keep arriving
 * (new alerts are appended; a resolution replaces its alert in place), so paging by offset
 * lists every alert once. `request` is already validated (AlertsPageRequest).
 */
export function alertsPage(all: readonly Alert[], request: AlertsPageRequest): AlertsPage {
  const limit = Math.min(request.limit, ALERTS_PAGE_LIMIT);
  const alerts = all.slice(request.offset, request.offset + limit);
  const next = request.offset + alerts.length;
  return { ...alertCounts(all), offset: request.offset, alerts, nextOffset: next < all.length ? next : null };
}
