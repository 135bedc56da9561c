/**
 * The worker's incident metrics on the shared Prometheus Registry: observed once when an
 * incident starts (loadIncidentContext) and once when it closes (writeReport, with the
 * whole final status), so workflow code stays untouched. Also feeds the drift monitor
 * and renders its verdicts as gauges, and renders the diagnosis-accuracy SLIs
 * (accuracy-monitor.ts), which a closed incident makes due for recomputation.
 */
import { alertCounts } from '../alerts/bounded-alerts.js';
import { Registry } from '../ingest/metrics.js';
import type { IncidentStatus } from '../schemas/incident.js';
import { SLI_NAMES, type ObservabilityConfig } from './config.js';
import type { AccuracyMonitor } from './accuracy-monitor.js';
import type { DriftMonitor } from './drift-monitor.js';
import { GaugeSet } from './gauges.js';
import { computeIncidentSlis, type IncidentSlis } from './incident-slis.js';

const MINUTES = 60;
const HOURS = 3600;

/** What the worker knows about an incident besides its status (read from the evidence store). */
export interface ClosedIncidentExtras {
  /** The tool gate's call records: capability and error type, if any. */
  toolCalls?: { capability: string; errorType?: string }[];
}

function defineMetrics(r: Registry, currency: string) {
  return {
    started: r.counter({ name: 'vigil_incidents_started_total', help: 'Incident workflows started on this worker (their context loaded).' }),
    closed: r.counter({
      name: 'vigil_incidents_closed_total',
      help: 'Incidents closed, by final severity, source of the first alert and outcome (severity is settled during intake, so incidents are labelled when they close).',
      labelNames: ['severity', 'source', 'outcome'] as const,
    }),
    alerts: r.counter({ name: 'vigil_incident_alerts_total', help: 'Alerts that made up the closed incidents, by source.', labelNames: ['source'] as const }),
    merged: r.counter({ name: 'vigil_alerts_merged_total', help: 'Alerts merged into an incident another alert had opened, by source.', labelNames: ['source'] as const }),
    diagnosis: r.histogram({
      name: 'vigil_incident_diagnosis_seconds',
      help: 'Time from the incident opening to its diagnosis (root cause inferred, planning starts).',
      labelNames: ['severity'] as const,
      buckets: [5, 10, 30, 60, 2 * MINUTES, 5 * MINUTES, 10 * MINUTES, 30 * MINUTES, HOURS],
    }),
    approvalWait: r.histogram({
      name: 'vigil_incident_approval_wait_seconds',
      help: 'Time an incident waited at checkpoints for a person (all checkpoints of the incident).',
      labelNames: ['severity'] as const,
      buckets: [10, 30, MINUTES, 5 * MINUTES, 15 * MINUTES, 30 * MINUTES, HOURS, 2 * HOURS, 4 * HOURS, 8 * HOURS],
    }),
    checkpoints: r.counter({ name: 'vigil_incidents_checkpointed_total', help: 'Closed incidents that asked a person at a checkpoint.', labelNames: ['severity'] as const }),
    manual: r.counter({
      name: 'vigil_incidents_manual_intervention_total',
      help: 'Closed incidents in which a person decided, took over or was handed the incident (rate: divide by vigil_incidents_closed_total).',
      labelNames: ['severity'] as const,
    }),
    escalated: r.counter({ name: 'vigil_incidents_escalated_total', help: 'Closed incidents whose checkpoint escalated past its first level.', labelNames: ['severity'] as const }),
    overridden: r.counter({ name: 'vigil_incidents_overridden_total', help: "Closed incidents where a person overrode the inferred root cause.", labelNames: ['severity'] as const }),
    remediations: r.counter({ name: 'vigil_remediations_total', help: 'Remediation sagas, by outcome (completed = success).', labelNames: ['outcome'] as const }),
    compensated: r.counter({ name: 'vigil_remediations_compensated_total', help: 'Remediation sagas that compensated (undid) steps.' }),
    compensationActions: r.counter({ name: 'vigil_compensation_actions_total', help: 'Undo actions run by remediation sagas, by result.', labelNames: ['result'] as const }),
    toolCallsPerIncident: r.histogram({
      name: 'vigil_incident_tool_calls',
      help: 'MCP tool calls (through the tool gate) per closed incident.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    }),
    toolCalls: r.counter({ name: 'vigil_tool_calls_total', help: 'MCP tool calls of closed incidents, by capability and result (ok or the error type).', labelNames: ['capability', 'result'] as const }),
    tokensPerIncident: r.histogram({
      name: 'vigil_incident_llm_tokens',
      help: 'LLM tokens (prompt + completion) used per closed incident that asked a model.',
      buckets: [500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 200_000],
    }),
    tokens: r.counter({ name: 'vigil_llm_tokens_total', help: 'LLM tokens used by closed incidents, by model.', labelNames: ['model'] as const }),
    costPerIncident: r.histogram({
      name: 'vigil_incident_llm_cost',
      help: `LLM cost per closed incident that asked a model, in ${currency} (observability.llmPricePer1kTokens).`,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
    }),
    cost: r.counter({ name: 'vigil_llm_cost_total', help: `LLM cost of closed incidents, in ${currency}, by model.`, labelNames: ['model'] as const }),
    refusals: r.counter({
      name: 'vigil_policy_refusals_total',
      help: 'Refusals by policy: decisions refused at a checkpoint (by decision kind) and tool calls the gate did not allow.',
      labelNames: ['source', 'kind'] as const,
    }),
    minutesBaseline: r.counter({
      name: 'vigil_engineer_minutes_baseline_total',
      help: 'Engineer-minutes the closed incidents would have needed by hand (observability.value.baselineMinutes per type).',
      labelNames: ['type'] as const,
    }),
    minutesSpent: r.counter({
      name: 'vigil_engineer_minutes_spent_total',
      help: 'Engineer-minutes the closed incidents needed: checkpoint time with a person deciding; fully manual outcomes count the whole baseline.',
      labelNames: ['type'] as const,
    }),
    minutesSaved: r.counter({ name: 'vigil_engineer_minutes_saved_total', help: 'Engineer-minutes saved: baseline minus spent, per incident type.', labelNames: ['type'] as const }),
    unmeasured: r.counter({
      name: 'vigil_incidents_without_baseline_total',
      help: 'Closed incidents not counted in the value measure: no baseline configured for their type (auto-resolved ones are not counted at all).',
      labelNames: ['type'] as const,
    }),
  };
}

export class IncidentMetrics {
  readonly registry: Registry;
  readonly gauges = new GaugeSet();
  private readonly m: ReturnType<typeof defineMetrics>;
  private readonly drift: DriftMonitor | undefined;
  private readonly accuracy: AccuracyMonitor | undefined;

  constructor(
    private readonly config: Pick<ObservabilityConfig, 'value' | 'llmPricePer1kTokens' | 'currency'>,
    opts: { registry?: Registry; drift?: DriftMonitor; accuracy?: AccuracyMonitor } = {},
  ) {
    this.registry = opts.registry ?? new Registry();
    this.drift = opts.drift;
    this.accuracy = opts.accuracy;
    this.m = defineMetrics(this.registry, config.currency);
    this.registerDriftGauges();
    this.accuracy?.registerGauges(this.gauges);
  }

  /** An incident workflow started (its context was loaded). */
  observeStarted(): void {
    this.m.started.inc();
  }

  /**
   * An incident closed: records its metrics, then feeds the drift monitor. The returned
   * promise settles when drift alerts (if any) were tried; metrics are recorded at once.
   */
  observeClosed(status: IncidentStatus, extras: ClosedIncidentExtras = {}, closedAt: number = Date.now() / 1000): { slis: IncidentSlis; drift: Promise<void> } {
    const s = computeIncidentSlis(status, this.config.value);
    this.accuracy?.markStale();
    const m = this.m;
    const sev = { severity: s.severity };
    m.closed.inc({ severity: s.severity, source: s.source, outcome: s.outcome });
    // The status lists at most 500 alerts; its per-source counts cover all of them (absent in older statuses).
    const bySource = status.alertsBySource ?? alertCounts(status.alerts).alertsBySource;
    const opener = status.alerts[0]?.source;
    for (const [source, n] of Object.entries(bySource)) {
      m.alerts.inc({ source }, n);
      const merged = source === opener ? n - 1 : n;
      if (merged > 0) m.merged.inc({ source }, merged);
    }
    if (s.diagnosisSeconds !== null) m.diagnosis.observe(sev, s.diagnosisSeconds);
    if (s.approvalWaitSeconds !== null) {
      m.approvalWait.observe(sev, s.approvalWaitSeconds);
      m.checkpoints.inc(sev);
    }
    if (s.manualIntervention) m.manual.inc(sev);
    if (s.escalated) m.escalated.inc(sev);
    if (s.overridden) m.overridden.inc(sev);
    if (s.remediation) m.remediations.inc({ outcome: s.remediation });
    if (s.compensated) m.compensated.inc();
    if (s.compensationActions.ok > 0) m.compensationActions.inc({ result: 'ok' }, s.compensationActions.ok);
    if (s.compensationActions.failed > 0) m.compensationActions.inc({ result: 'failed' }, s.compensationActions.failed);
    if (extras.toolCalls) {
      m.toolCallsPerIncident.observe(undefined, extras.toolCalls.length);
      for (const c of extras.toolCalls) {
        m.toolCalls.inc({ capability: c.capability, result: c.errorType ?? 'ok' });
        if (c.errorType === 'ToolNotAllowed') m.refusals.inc({ source: 'tool-gate', kind: c.capability });
      }
    }
    if (s.llm) {
      const cost = (s.llm.tokens / 1000) * this.config.llmPricePer1kTokens;
      m.tokensPerIncident.observe(undefined, s.llm.tokens);
      m.tokens.inc({ model: s.llm.model }, s.llm.tokens);
      m.costPerIncident.observe(undefined, cost);
      m.cost.inc({ model: s.llm.model }, cost);
    }
    for (const [kind, n] of Object.entries(s.refusedDecisions)) m.refusals.inc({ source: 'checkpoint', kind }, n);
    if (s.minutes) {
      m.minutesBaseline.inc({ type: s.type }, s.minutes.baseline);
      m.minutesSpent.inc({ type: s.type }, s.minutes.person);
      m.minutesSaved.inc({ type: s.type }, s.minutes.saved);
    } else if (s.outcome !== 'auto-resolved') {
      m.unmeasured.inc({ type: s.type });
    }
    const drift = this.drift && Object.keys(s.sliValues).length > 0 ? this.drift.add({ at: closedAt, incidentId: s.incidentId, values: s.sliValues }).then(() => undefined) : Promise.resolve();
    return { slis: s, drift };
  }

  /** Prometheus text: the registry's metrics, then the drift and accuracy gauges (as last computed). */
  render(): string {
    return this.registry.render() + this.gauges.render();
  }

  /** For a scrape: recomputes the accuracy SLIs when due (bounded wait), then renders. */
  async renderFresh(): Promise<string> {
    await this.accuracy?.refreshIfDue();
    return this.render();
  }

  private registerDriftGauges(): void {
    const verdicts = () => this.drift?.current() ?? [];
    this.gauges.gauge({
      name: 'vigil_sli_drift',
      help: 'Whether the SLI drifted beyond its rule (1) or not (0), recent window vs baseline window.',
      labelNames: ['sli'] as const,
      collect: () => verdicts().map((v) => ({ labels: { sli: v.sli }, value: v.drifted ? 1 : 0 })),
    });
    this.gauges.gauge({
      name: 'vigil_sli_drift_ratio',
      help: 'Relative change of the SLI, (recent - baseline) / baseline; +Inf from a zero baseline. Absent without data in both windows.',
      labelNames: ['sli'] as const,
      collect: () => verdicts().flatMap((v) => (v.relativeChange === null ? [] : [{ labels: { sli: v.sli }, value: v.relativeChange }])),
    });
    this.gauges.gauge({
      name: 'vigil_sli_value',
      help: 'The SLI (a rate over closed incidents) in the baseline and the recent window.',
      labelNames: ['sli', 'window'] as const,
      collect: () =>
        verdicts().flatMap((v) => [
          ...(v.baseline.value === null ? [] : [{ labels: { sli: v.sli, window: 'baseline' }, value: v.baseline.value }]),
          ...(v.recent.value === null ? [] : [{ labels: { sli: v.sli, window: 'recent' }, value: v.recent.value }]),
        ]),
    });
    this.gauges.gauge({
      name: 'vigil_sli_samples',
      help: 'Closed incidents the SLI applies to, per window.',
      labelNames: ['sli', 'window'] as const,
      collect: () =>
        verdicts().flatMap((v) => [
          { labels: { sli: v.sli, window: 'baseline' }, value: v.baseline.samples },
          { labels: { sli: v.sli, window: 'recent' }, value: v.recent.samples },
        ]),
    });
  }
}

export { SLI_NAMES };
