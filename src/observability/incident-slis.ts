/**
 * What one closed incident says about vigil's service levels, computed from its final
 * IncidentStatus (the one `writeReport` receives): timings, whether a person had to step
 * in, escalations, overrides, the remediation's fate, tokens, refusals, and the value
 * measure (engineer-minutes saved against a manual baseline). Pure: no clock, no I/O.
 */
import type { IncidentStatus, Outcome } from '../schemas/incident.js';
import type { SliName, ValueConfig } from './config.js';

/**
 * Outcomes after which a person still did the work (took over, was handed the incident,
 * rejected the plan, or the remediation did not fix it): counted as fully manual, so
 * nothing is claimed as saved. `auto-resolved` is not measured at all (nobody would
 * have worked it by hand either).
 */
export const FULLY_MANUAL_OUTCOMES: ReadonlySet<Outcome> = new Set<Outcome>([
  'manual-takeover',
  'escalated-no-decision',
  'rejected',
  'no-action',
  'shadow',
  'remediation-failed',
  'not-recovered-rolled-back',
]);

export interface IncidentSlis {
  incidentId: string;
  severity: string;
  /** The first alert's source (alertmanager, generic, ...). */
  source: string;
  outcome: string;
  /** The incident type the value baseline is looked up by (ValueConfig.typeLabels). */
  type: string;
  alerts: number;
  /** Alerts beyond the first, merged into this incident. */
  mergedAlerts: number;
  /** From the incident opening to the diagnosis (first planning stage); null if never diagnosed. */
  diagnosisSeconds: number | null;
  /** Total time spent at checkpoints waiting for a person; null if no checkpoint was asked. */
  approvalWaitSeconds: number | null;
  /** Checkpoint time that ended with a person's accepted decision. */
  decidedCheckpointSeconds: number;
  manualIntervention: boolean;
  escalated: boolean;
  overridden: boolean;
  /** The saga's outcome, null when nothing was executed. */
  remediation: string | null;
  /** The saga undid (some of) its steps. */
  compensated: boolean;
  compensationActions: { ok: number; failed: number };
  llm: { model: string; tokens: number } | null;
  /** Refused decisions, by decision kind. */
  refusedDecisions: Record<string, number>;
  /** null when not measured (auto-resolved, or no baseline configured for the type). */
  minutes: { baseline: number; person: number; saved: number } | null;
  /** Per drift SLI: 1/0, or absent when the SLI does not apply to this incident. */
  sliValues: Partial<Record<SliName, number>>;
}

const seconds = (from: string, to: string): number => Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

/** The incident's type: the first configured label set on its first alert. */
export function incidentType(status: Pick<IncidentStatus, 'alerts'>, typeLabels: readonly string[]): string {
  const first = status.alerts[0];
  for (const label of typeLabels) {
    const v = first?.labels[label];
    if (v) return v;
  }
  return 'unknown';
}

/** Checkpoint intervals from the timeline: from entering `checkpoint` to the next entry of another stage. */
export function checkpointIntervals(status: Pick<IncidentStatus, 'timeline'>): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  let open: string | undefined;
  for (const entry of status.timeline) {
    if (entry.stage === 'checkpoint') {
      open ??= entry.at;
    } else if (open !== undefined) {
      out.push({ from: open, to: entry.at });
      open = undefined;
    }
  }
  const last = status.timeline.at(-1);
  if (open !== undefined && last) out.push({ from: open, to: last.at });
  return out;
}

export function computeIncidentSlis(status: IncidentStatus, value: ValueConfig): IncidentSlis {
  const first = status.timeline[0];
  const diagnosed = status.timeline.find((e) => e.stage === 'planning');
  const intervals = checkpointIntervals(status);
  const accepted = status.decisions.filter((d) => d.accepted);
  // A checkpoint wait ended by a person when an accepted decision falls inside it.
  const decidedSeconds = intervals
    .filter((iv) => accepted.some((d) => d.at >= iv.from && d.at <= iv.to))
    .reduce((n, iv) => n + seconds(iv.from, iv.to), 0);
  const outcome = status.outcome ?? 'unknown';
  const escalated =
    outcome === 'escalated-no-decision' ||
    (status.checkpoint?.escalationLevel ?? 0) > 0 ||
    status.timeline.some((e) => e.stage === 'checkpoint' && e.note.startsWith('no decision: escalated'));
  const overridden = accepted.some((d) => d.kind === 'override');
  const manualIntervention = accepted.length > 0 || outcome === 'manual-takeover' || outcome === 'escalated-no-decision';
  const saga = status.saga;
  const undo = saga?.actions.filter((a) => a.phase === 'undo') ?? [];
  const compensated = saga ? undo.length > 0 || saga.outcome === 'failed-compensated' || saga.outcome === 'not-recovered-compensated' || saga.outcome === 'failed-compensation-incomplete' : false;

  const refusedDecisions: Record<string, number> = {};
  for (const d of status.decisions) if (!d.accepted) refusedDecisions[d.kind] = (refusedDecisions[d.kind] ?? 0) + 1;

  const llm = status.inference?.llm ? { model: status.inference.llm.model, tokens: status.inference.llm.tokens.used } : null;

  const type = incidentType(status, value.typeLabels);
  const baseline = value.baselineMinutes[type] ?? value.defaultBaselineMinutes;
  let minutes: IncidentSlis['minutes'] = null;
  if (baseline !== undefined && outcome !== 'auto-resolved' && outcome !== 'unknown') {
    const person = FULLY_MANUAL_OUTCOMES.has(outcome as Outcome) ? baseline : Math.min(baseline, decidedSeconds / 60);
    minutes = { baseline, person, saved: Math.max(0, baseline - person) };
  }

  const sliValues: Partial<Record<SliName, number>> = {};
  if (outcome !== 'auto-resolved') {
    sliValues.override_rate = overridden ? 1 : 0;
    sliValues.escalation_rate = escalated ? 1 : 0;
    sliValues.manual_intervention_rate = manualIntervention ? 1 : 0;
  }
  if (saga && saga.outcome !== 'cancelled') {
    sliValues.compensation_rate = compensated ? 1 : 0;
    sliValues.remediation_failure_rate = saga.outcome === 'completed' ? 0 : 1;
  }

  return {
    incidentId: status.incidentId,
    severity: status.severity,
    source: status.alerts[0]?.source ?? 'unknown',
    outcome,
    type,
    alerts: status.alertsTotal ?? status.alerts.length,
    mergedAlerts: Math.max(0, (status.alertsTotal ?? status.alerts.length) - 1),
    diagnosisSeconds: first && diagnosed ? seconds(first.at, diagnosed.at) : null,
    approvalWaitSeconds: intervals.length > 0 ? intervals.reduce((n, iv) => n + seconds(iv.from, iv.to), 0) : null,
    decidedCheckpointSeconds: decidedSeconds,
    manualIntervention,
    escalated,
    overridden,
    remediation: saga?.outcome ?? null,
    compensated,
    compensationActions: { ok: undo.filter((a) => a.ok).length, failed: undo.filter((a) => !a.ok).length },
    llm,
    refusedDecisions,
    minutes,
    sliValues,
  };
}
