/**
 * Splits accepted alerts into AlertBatches, one per aggregation group, and gives
 * each batch a delivery id that is identical for identical redeliveries.
 *
 * Group keys built from labels look like `{alertname="HighLatency",service="checkout"}`
 * (labels in groupBy order, values JSON-quoted), the same for every source, so an
 * Alertmanager alert and a generic alert about the same service can share an incident.
 */
import { createHash } from 'node:crypto';
import { alertService, type Alert, type AlertBatch } from '../schemas/alert.js';

/** Group labels for generic alerts when none are configured. */
export const DEFAULT_GENERIC_GROUP_BY: readonly string[] = ['service'];

/**
 * The value of one grouping label. `service` means "the service the alert is about"
 * (alertService: service, job, app, container or deployment label); other names are
 * plain labels. Missing labels group as the empty string.
 */
export function groupLabelValue(alert: Pick<Alert, 'labels'>, name: string): string {
  if (name === 'service') return alertService(alert) ?? '';
  return alert.labels[name] ?? '';
}

/** `{a="x",b="y"}` for groupBy ['a','b']. */
export function labelGroupKey(alert: Pick<Alert, 'labels'>, groupBy: readonly string[]): string {
  return `{${groupBy.map((name) => `${name}=${JSON.stringify(groupLabelValue(alert, name))}`).join(',')}}`;
}

/**
 * SHA-256 (hex) over the group key and the sorted `fingerprint:status:startsAt` of
 * the batch's alerts: the same alerts in the same group give the same id whatever
 * their order in the request.
 */
export function deliveryIdFor(groupKey: string, alerts: readonly Pick<Alert, 'fingerprint' | 'status' | 'startsAt'>[]): string {
  const lines = alerts.map((a) => `${a.fingerprint}:${a.status}:${a.startsAt}`).sort();
  return createHash('sha256').update(groupKey).update('\n').update(lines.join('\n')).digest('hex');
}

function batchesByKey(alerts: readonly Alert[], keyOf: (a: Alert) => string): AlertBatch[] {
  const groups = new Map<string, Alert[]>();
  for (const alert of alerts) {
    const key = keyOf(alert);
    const list = groups.get(key);
    if (list) list.push(alert);
    else groups.set(key, [alert]);
  }
  return [...groups].map(([groupKey, list]) => ({ groupKey, alerts: list, deliveryId: deliveryIdFor(groupKey, list) }));
}

/**
 * Alertmanager: one batch with the payload's own groupKey, unless groupBy labels are
 * configured (non-empty), which regroup the alerts by those labels.
 */
export function groupAlertmanagerAlerts(groupKey: string, alerts: readonly Alert[], groupBy?: readonly string[]): AlertBatch[] {
  if (groupBy && groupBy.length > 0) return batchesByKey(alerts, (a) => labelGroupKey(a, groupBy));
  return batchesByKey(alerts, () => groupKey);
}

/** Generic alerts: grouped by the groupBy labels (default ['service']; an empty list means the default). */
export function groupGenericAlerts(alerts: readonly Alert[], groupBy?: readonly string[]): AlertBatch[] {
  const by = groupBy && groupBy.length > 0 ? groupBy : DEFAULT_GENERIC_GROUP_BY;
  return batchesByKey(alerts, (a) => labelGroupKey(a, by));
}
