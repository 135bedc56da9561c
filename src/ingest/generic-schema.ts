/**
 * vigil's generic alert format, for senders that are not Alertmanager (Grafana
 * contact points with a JSON template, cloud monitors, scripts). Documented for
 * senders in GENERIC-FORMAT.md; keep the two in step.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Alert } from '../schemas/alert.js';
import { AlertStatus, KeyValues, Rfc3339 } from './alertmanager-schema.js';

/** A source name: becomes a metrics label, so it is kept short and plain. */
const SourceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected 1-64 letters, digits, "_", "." or "-"');

/** One alert in the generic format. Unknown fields are rejected (typos would otherwise be lost). */
export const GenericAlert = z.strictObject({
  name: z.string().min(1).describe('what is wrong; becomes labels.alertname'),
  service: z.string().min(1).describe('the affected service; becomes labels.service'),
  severity: z.string().min(1).describe('critical|page|error|warning|info or P0..P4; becomes labels.severity'),
  status: AlertStatus.default('firing'),
  labels: KeyValues.optional().describe('extra labels; name/service/severity win over these'),
  annotations: KeyValues.optional(),
  summary: z.string().optional().describe('shorthand for annotations.summary'),
  description: z.string().optional().describe('shorthand for annotations.description'),
  startsAt: Rfc3339.optional().describe('ISO-8601 with offset; default: the time vigil received it'),
  endsAt: Rfc3339.optional(),
  fingerprint: z.string().min(1).max(256).optional().describe('default: SHA-256 of the sorted labels'),
  source: SourceName.optional().describe('default: generic'),
  generatorURL: z.string().optional(),
});
export type GenericAlert = z.infer<typeof GenericAlert>;

export const GenericAlertList = z.array(GenericAlert).min(1);
export const GenericAlertEnvelope = z.strictObject({ alerts: GenericAlertList });

/** The body: one alert, an array of alerts, or `{ "alerts": [...] }`. */
export const GenericPayload = z.union([GenericAlertList, GenericAlertEnvelope, GenericAlert]);
export type GenericPayload = z.infer<typeof GenericPayload>;

/**
 * Parses a generic body. Dispatches on shape first (array / object with `alerts` /
 * single object) so that error paths point into the shape the sender meant.
 */
export function parseGenericPayload(
  body: unknown,
  params?: z.core.ParseContext<z.core.$ZodIssue>,
): { success: true; data: GenericAlert[] } | { success: false; error: z.ZodError } {
  if (Array.isArray(body)) {
    const r = GenericAlertList.safeParse(body, params);
    return r.success ? { success: true, data: r.data } : { success: false, error: r.error };
  }
  if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'alerts')) {
    const r = GenericAlertEnvelope.safeParse(body, params);
    return r.success ? { success: true, data: r.data.alerts } : { success: false, error: r.error };
  }
  const r = GenericAlert.safeParse(body, params);
  return r.success ? { success: true, data: [r.data] } : { success: false, error: r.error };
}

/** Stable fingerprint of a label set: SHA-256 (hex) over the labels sorted by name. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

/** Generic alerts → vigil Alerts. */
export function normalizeGeneric(alerts: GenericAlert[], receivedAt: Date): Alert[] {
  const received = receivedAt.toISOString();
  return alerts.map((g) => {
    const labels: Record<string, string> = {
      ...g.labels,
      alertname: g.name,
      service: g.service,
      severity: g.severity,
    };
    const annotations: Record<string, string> = { ...g.annotations };
    if (g.summary !== undefined) annotations['summary'] = g.summary;
    if (g.description !== undefined) annotations['description'] = g.description;
    const alert: Alert = {
      fingerprint: g.fingerprint ?? labelsFingerprint(labels),
      status: g.status,
      labels,
      annotations,
      startsAt: g.startsAt ?? received,
      source: g.source ?? 'generic',
      receivedAt: received,
    };
    if (g.endsAt !== undefined) alert.endsAt = g.endsAt;
    if (g.generatorURL) alert.generatorURL = g.generatorURL;
    return alert;
  });
}
