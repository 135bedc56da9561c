/**
 * Prometheus Alertmanager's webhook payload, version 4 (notify/webhook in Alertmanager:
 * `Message{*template.Data, Version, GroupKey, TruncatedAlerts}`), and its normalization
 * to vigil's Alert. Alertmanager always sends every field; fields vigil does not use
 * are type-checked when present but not required, so compatible senders are not
 * rejected for omitting them.
 */
import { z } from 'zod';
import type { Alert } from '../schemas/alert.js';

/** Label and annotation maps: string → string (Go's template.KV). */
export const KeyValues = z.record(z.string(), z.string());

/** RFC 3339 as Go's time.Time marshals it: fractional seconds up to nanoseconds, `Z` or an offset. */
export const Rfc3339 = z.iso.datetime({ offset: true });

/** An optional map that Go may marshal as `null` (nil map): normalized to `{}`. */
const optionalKeyValues = KeyValues.nullish().transform((v) => v ?? {});

export const AlertStatus = z.enum(['firing', 'resolved']);

/** One alert of the webhook (Alertmanager's template.Alert). */
export const AlertmanagerAlert = z.object({
  status: AlertStatus,
  labels: KeyValues,
  annotations: optionalKeyValues,
  startsAt: Rfc3339,
  endsAt: Rfc3339.optional().describe('"0001-01-01T00:00:00Z" (Go zero time) while the alert is firing'),
  generatorURL: z.string().optional().describe('link to the rule in the generating system, e.g. Prometheus graph URL'),
  fingerprint: z
    .string()
    .regex(/^[0-9a-fA-F]+$/, 'expected a hex string')
    .describe('Alertmanager fingerprint of the label set (16 hex digits)'),
});
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlert>;

/** The whole webhook body. */
export const AlertmanagerWebhook = z.object({
  version: z.literal('4'),
  groupKey: z.string().min(1).describe('identifies the aggregation group, e.g. `{}/{team="db"}:{alertname="X"}`'),
  truncatedAlerts: z.number().int().nonnegative().default(0).describe('alerts left out because of max_alerts'),
  status: AlertStatus.describe('firing if at least one alert of the group is firing'),
  receiver: z.string().optional(),
  groupLabels: optionalKeyValues,
  commonLabels: optionalKeyValues,
  commonAnnotations: optionalKeyValues,
  externalURL: z.string().optional().describe('backlink to the Alertmanager'),
  alerts: z.array(AlertmanagerAlert).min(1),
});
export type AlertmanagerWebhook = z.infer<typeof AlertmanagerWebhook>;

const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/** True for Go's zero time, which Alertmanager sends as endsAt of firing alerts. */
export function isZeroTime(iso: string): boolean {
  return Date.parse(iso) === GO_ZERO_TIME;
}

/** Alertmanager alerts → vigil Alerts (source `alertmanager`); zero endsAt and empty generatorURL are dropped. */
export function normalizeAlertmanager(payload: AlertmanagerWebhook, receivedAt: Date): Alert[] {
  const received = receivedAt.toISOString();
  return payload.alerts.map((a) => {
    const alert: Alert = {
      fingerprint: a.fingerprint.toLowerCase(),
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      source: 'alertmanager',
      receivedAt: received,
    };
    if (a.endsAt !== undefined && !isZeroTime(a.endsAt)) alert.endsAt = a.endsAt;
    if (a.generatorURL) alert.generatorURL = a.generatorURL;
    return alert;
  });
}
