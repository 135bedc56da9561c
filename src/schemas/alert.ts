/**
 * Alerts as vigil keeps them once they are accepted (normalized from Alertmanager's
 * webhook or the generic format). Alert text (labels, annotations) is untrusted data.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';

export const Severity = z.enum(['P0', 'P1', 'P2', 'P3', 'P4']);
export type Severity = z.infer<typeof Severity>;

/** One alert, normalized. */
export const Alert = z.object({
  fingerprint: z.string().min(1).describe('stable identity of the alert (Alertmanager fingerprint or a hash of its labels)'),
  status: z.enum(['firing', 'resolved']),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).default({}),
  startsAt: z.string().describe('ISO-8601'),
  endsAt: z.string().optional().describe('ISO-8601; absent or zero time while firing'),
  generatorURL: z.string().optional(),
  source: z.string().default('generic').describe('alertmanager, grafana, generic, simulator, ...'),
  receivedAt: z.string().optional().describe('ISO-8601, set by ingest'),
});
export type Alert = z.infer<typeof Alert>;

/** A batch of alerts for one aggregation group, as ingest hands it to Temporal. */
export const AlertBatch = z.object({
  groupKey: z.string().min(1),
  alerts: z.array(Alert).min(1),
  /** Idempotency: the delivery id (hash of the request body and group) so redeliveries change nothing. */
  deliveryId: z.string().min(1),
  /** A line for the incident's timeline (set by the alert group, e.g. which rule merged these alerts). */
  note: z.string().max(4000).optional(),
  /** The incident ingest already named for these alerts under the group's routing lease (src/aggregation/routing-lease.ts). */
  promisedIncidentId: z.string().min(1).optional(),
  /** Of those alerts, the ones the lease said were inhibited (answered as suppressed). */
  promisedSuppressed: z.array(z.string()).optional(),
});
export type AlertBatch = z.infer<typeof AlertBatch>;

/** The service an alert is about: the first of these labels that is set. */
export const SERVICE_LABELS = ['service', 'job', 'app', 'container', 'deployment'] as const;

export function alertService(alert: Pick<Alert, 'labels'>): string | undefined {
  for (const key of SERVICE_LABELS) {
    const v = alert.labels[key];
    if (v) return v;
  }
  return undefined;
}

/** Label severity → P0..P4 (configurable mapping lives in config; this is the default). */
export const DEFAULT_SEVERITY_MAP: Record<string, Severity> = {
  p0: 'P0',
  critical: 'P0',
  page: 'P1',
  p1: 'P1',
  high: 'P1',
  error: 'P2',
  p2: 'P2',
  major: 'P2',
  warning: 'P3',
  p3: 'P3',
  minor: 'P3',
  info: 'P4',
  p4: 'P4',
  none: 'P4',
};

export function alertSeverity(alert: Pick<Alert, 'labels'>, map: Record<string, Severity> = DEFAULT_SEVERITY_MAP): Severity {
  const raw = (alert.labels['severity'] ?? alert.labels['priority'] ?? '').toLowerCase();
  return map[raw] ?? 'P3';
}

const ORDER: Severity[] = ['P0', 'P1', 'P2', 'P3', 'P4'];
export function highestSeverity(list: Severity[]): Severity {
  let best: Severity = 'P4';
  for (const s of list) if (ORDER.indexOf(s) < ORDER.indexOf(best)) best = s;
  return best;
}
