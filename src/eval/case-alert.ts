/**
 * What the evaluation sends and sets for one case: the Alertmanager v4 webhook that
 * carries the case's alert (as Alertmanager would post it, alone in its group), and
 * the incident settings derived from the case's own window — the same rule for every
 * dataset: the baseline reaches back to the earliest data the replay server serves,
 * the incident window runs to the end of the case window, metrics come at their
 * recorded resolution, and there is no group wait.
 */
import { createHash } from 'node:crypto';
import type { AlertmanagerWebhook } from '../ingest/alertmanager-schema.js';
import type { IncidentSettings } from '../schemas/incident.js';
import type { CaseAlert } from '../replay/case-bundle.js';
import type { ReplayModel } from '../replay/replay-model.js';

const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Alertmanager's fingerprint stand-in when the case gives none: 16 hex digits of SHA-256 over the sorted labels. */
export function labelsFingerprint(labels: Record<string, string>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join('\u0000');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** The v4 webhook Alertmanager would post for this one alert in group `groupKey`. */
export function alertmanagerWebhook(alert: CaseAlert, groupKey: string): AlertmanagerWebhook {
  const fingerprint = alert.fingerprint && /^[0-9a-fA-F]+$/.test(alert.fingerprint) ? alert.fingerprint : labelsFingerprint(alert.labels);
  return {
    version: '4',
    groupKey,
    truncatedAlerts: 0,
    status: alert.status,
    receiver: 'vigil-eval',
    groupLabels: {},
    commonLabels: alert.labels,
    commonAnnotations: alert.annotations,
    externalURL: '',
    alerts: [
      {
        status: alert.status,
        labels: alert.labels,
        annotations: alert.annotations,
        startsAt: alert.startsAt,
        endsAt: alert.endsAt ?? GO_ZERO_TIME,
        generatorURL: alert.generatorURL ?? '',
        fingerprint,
      },
    ],
  };
}

/** Incident settings for a case, from its window and the data the replay server serves. */
export async function incidentSettingsFor(model: ReplayModel): Promise<Partial<IncidentSettings>> {
  const coverage = await model.coverage();
  const startsAt = Math.floor(model.startsAt);
  const resolution = await model.metricsResolution();
  return {
    groupWaitSeconds: 0,
    baselineSeconds: Math.max(1, Math.ceil(startsAt - coverage.start)),
    incidentWindowSeconds: Math.max(1, Math.ceil(model.window.end - startsAt)),
    metricsStepSeconds: resolution && resolution > 0 ? resolution : 15,
  };
}
