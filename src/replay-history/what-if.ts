/**
 * What-if replay: re-runs a recorded incident's diagnosis and decision with the tool
 * responses recorded in its history (the analyses' results, the topology graph, the
 * sub-agents' verdicts, the similar incidents) against the current ranking, built-in
 * reasoner, planner and a policy (the recorded one, or another), and says how the
 * decision differs: ranking top 5, root cause, confidence, checkpoint required or not,
 * plan. The canary for behaviour changes: no server, no tools, no side effects.
 *
 * Not re-run: an LLM's opinion (the built-in reasoner decides alone here), the review
 * sample draw (taken as not sampled), and the service state read at planning time (taken
 * from the remediation child's recorded state capture when given, else absent).
 */
import { autonomyFor, checkpointFor } from '../policy/checkpoint-rules.js';
import { rankCandidates } from '../ranking/rank-candidates.js';
import { inferRootCause } from '../reasoner/builtin-reasoner.js';
import { planRemediation } from '../remediation/plan-remediation.js';
import { rerankWithHypotheses } from '../hypothesis/rerank.js';
import type { Runbook } from '../knowledge/runbooks.js';
import { alertSeverity, highestSeverity, type Alert, type Severity } from '../schemas/alert.js';
import type { ServiceState } from '../schemas/capabilities.js';
import { statusEvidence, type Candidate, type SourceEvidence, type TopologyEvidence } from '../schemas/evidence.js';
import type { History as IncidentHistory, Hypothesis, IncidentInput, Inference, RemediationPlan } from '../schemas/incident.js';
import type { Policy } from '../schemas/policy.js';
import type { Topology } from '../schemas/telemetry.js';
import type { History } from './history-json.js';
import { decodePayloads, eventViews, firstPayload, num, startOf, type EventView } from './history-events.js';

/** How long before the incident start a deploy counts as a recent change (as activities/index.ts). */
const RECENT_CHANGE_SECONDS = 3600;

/** Thrown when a history holds no diagnosis to re-run (not an incident, or closed before analysis). */
export class NothingToReplayError extends Error {
  override readonly name = 'NothingToReplayError';
}

export interface DecisionView {
  policyVersion: string;
  ranking: { service: string; score: number; indicator?: string }[];
  rootCause: { service: string; indicator?: string } | null;
  confidence: number;
  reasoner: string;
  uncertain: boolean;
  /** required / not required; 'not reached' when the incident ended before (shadow, no plan, still diagnosing). */
  checkpoint: { required: boolean | 'not reached'; reasons: string[] };
  plan: { summary: string; steps: { id: string; action: string; service: string; risk: string }[] } | null;
  /** What the decision leads to: act without a person, wait for a person, shadow, nothing to do. */
  path: string;
}

export interface WhatIfResult {
  incidentId: string;
  recorded: DecisionView;
  now: DecisionView;
  differences: string[];
  notes: string[];
}

/** What the history recorded for the last diagnosis round. */
interface Recorded {
  incidentId: string;
  policy: Policy;
  request: { alertedServices: string[]; incidentStart: number };
  evidence: SourceEvidence[];
  topology: Topology | null;
  alerts: Alert[];
  severityMap?: Record<string, Severity>;
  hypotheses: Hypothesis[];
  history: IncidentHistory;
  candidates: Candidate[];
  inference: Inference | null;
  plan: RemediationPlan | null;
  checkpoint: DecisionView['checkpoint'];
  outcome?: string;
  llm: boolean;
}

const ANALYSES = ['analyzeMetrics', 'analyzeLogs', 'analyzeTraces', 'analyzeTopology'] as const;
const SOURCE_OF: Record<(typeof ANALYSES)[number], SourceEvidence['source']> = { analyzeMetrics: 'metrics', analyzeLogs: 'logs', analyzeTraces: 'traces', analyzeTopology: 'topology' };

/** Reads the last diagnosis round of an IncidentWorkflow history. */
function readRecorded(history: History): Recorded {
  const start = startOf(history);
  if (start.workflowType !== 'IncidentWorkflow') throw new NothingToReplayError(`what-if needs an IncidentWorkflow history, not ${start.workflowType}`);
  const input = (start.input ?? {}) as Partial<IncidentInput>;
  const events = eventViews(history);
  const scheduled = new Map<number, { type: string; input: unknown; at: number }>();
  const results = new Map<number, unknown>(); // by scheduled event id
  const failures = new Map<number, string>();
  let policy: Policy | undefined;
  let lastRound = -1;
  const alertState = new Map<string, Alert>();
  const addAlerts = (list: unknown) => {
    for (const a of Array.isArray(list) ? (list as Alert[]) : []) {
      const prev = alertState.get(a.fingerprint);
      if (!prev || (prev.status !== a.status && a.status === 'resolved')) alertState.set(a.fingerprint, a);
    }
  };
  addAlerts(input.alerts);
  let alertsAtRound: Alert[] = [];
  let result: { outcome?: string; checkpoint?: { required?: boolean; reasons?: string[] } | null } | undefined;
  let decided = false;
  for (const e of events) {
    const a = e.attrs;
    if (e.type === 'WorkflowExecutionSignaled' && a['signalName'] === 'alerts') addAlerts((decodePayloads(a['input'])[0] as { alerts?: unknown } | undefined)?.alerts);
    if (e.type === 'ActivityTaskScheduled') {
      const type = String((a['activityType'] as { name?: string } | undefined)?.name ?? '');
      scheduled.set(e.id, { type, input: firstPayload(a['input']), at: e.id });
      if (type === 'analyzeMetrics') {
        lastRound = e.id;
        alertsAtRound = [...alertState.values()];
      }
    }
    if (e.type === 'ActivityTaskCompleted') {
      const id = num(a['scheduledEventId']);
      const r = firstPayload(a['result']);
      results.set(id, r);
      if (scheduled.get(id)?.type === 'loadIncidentContext') policy = (r as { policy?: Policy } | undefined)?.policy;
    }
    if (e.type === 'ActivityTaskFailed' || e.type === 'ActivityTaskTimedOut') failures.set(num(a['scheduledEventId']), 'failed');
    if (e.type === 'WorkflowExecutionUpdateCompleted') decided = true;
    if (e.type === 'WorkflowExecutionCompleted') result = firstPayload(a['result']);
  }
  if (!policy) throw new NothingToReplayError('the history has no loaded policy (the incident had not started)');
  if (lastRound < 0) throw new NothingToReplayError(`the incident ended before any analysis${result?.outcome ? ` (${result.outcome})` : ''}: nothing to re-run`);

  /** The last activity of this type scheduled at or after the round began, with its result. */
  const latest = (type: string): { input: unknown; result: unknown; failed: boolean; id: number } | undefined => {
    let found: { input: unknown; result: unknown; failed: boolean; id: number } | undefined;
    for (const [id, s] of scheduled) if (s.type === type && id >= lastRound) found = { input: s.input, result: results.get(id), failed: failures.has(id) || !results.has(id), id };
    return found;
  };
  const firstAfter = (type: string, after: number) => {
    for (const [id, s] of scheduled) if (s.type === type && id > after && results.has(id)) return { id, result: results.get(id) };
    return undefined;
  };

  const request = (scheduled.get(lastRound)?.input ?? {}) as { alertedServices?: string[]; incidentStart?: number };
  const evidence: SourceEvidence[] = ANALYSES.map((type) => {
    const r = latest(type);
    if (r && !r.failed && r.result) return r.result as SourceEvidence;
    return { source: SOURCE_OF[type], status: 'missing', error: r ? 'failed in the recorded run' : 'not run', findings: [], stats: {} };
  });
  const topology = ((latest('analyzeTopology')?.result as TopologyEvidence | undefined)?.topology ?? null) as Topology | null;
  const rerank = latest('rerankCandidates');
  const ranked = rerank?.result ?? latest('rankCandidates')?.result;
  const infer = latest('inferRootCause');
  const plan = infer ? firstAfter('planRemediation', infer.id) : undefined;

  // Was a person asked about the first plan of the round? Look at what followed it.
  let checkpoint: DecisionView['checkpoint'] = { required: 'not reached', reasons: [] };
  if (plan && ((plan.result as RemediationPlan | undefined)?.steps.length ?? 0) > 0) {
    for (const e of events.filter((x) => x.id > plan.id)) {
      if (e.type === 'ActivityTaskScheduled' && scheduled.get(e.id)?.type === 'recordEvidence') {
        const p = (scheduled.get(e.id)?.input as { packet?: { kind?: string; actor?: { type?: string } } } | undefined)?.packet;
        if (p?.kind === 'checkpoint-decision' && p.actor?.type !== 'person') {
          checkpoint = { required: false, reasons: [] };
          break;
        }
      }
      if (isWait(e, scheduled)) {
        checkpoint = { required: true, reasons: [] };
        break;
      }
      if (e.type === 'StartChildWorkflowExecutionInitiated' && (e.attrs['workflowType'] as { name?: string } | undefined)?.name === 'RemediationSagaWorkflow') break;
    }
    // The result's checkpoint is the last one asked: the first plan's, unless a decision changed the plan.
    if (checkpoint.required === true && result?.checkpoint?.required && (!decided || result.checkpoint.reasons?.length)) checkpoint.reasons = result.checkpoint.reasons ?? [];
  }
  const inference = (infer?.result ?? null) as Inference | null;
  return {
    incidentId: input.incidentId ?? '?',
    policy,
    request: { alertedServices: request.alertedServices ?? [], incidentStart: request.incidentStart ?? 0 },
    evidence,
    topology,
    alerts: alertsAtRound,
    ...(input.aggregation?.severityMap ? { severityMap: input.aggregation.severityMap } : {}),
    hypotheses: ((rerank?.input as { hypotheses?: Hypothesis[] } | undefined)?.hypotheses ?? []) as Hypothesis[],
    history: ((latest('searchHistory')?.result as IncidentHistory | undefined) ?? { similarIncidents: [], runbooks: [] }),
    candidates: (Array.isArray(ranked) ? ranked : []) as Candidate[],
    inference,
    plan: (plan?.result ?? null) as RemediationPlan | null,
    checkpoint,
    ...(result?.outcome ? { outcome: result.outcome } : {}),
    llm: !!inference?.llm,
  };
}

function isWait(e: EventView, scheduled: Map<number, { type: string; input: unknown }>): boolean {
  if (e.type === 'TimerStarted' || e.type === 'WorkflowExecutionUpdateAccepted') return true;
  if (e.type === 'ActivityTaskScheduled' && scheduled.get(e.id)?.type === 'notify') return (scheduled.get(e.id)?.input as { event?: string } | undefined)?.event === 'approval-requested';
  return false;
}

const top5 = (cands: Candidate[]) => cands.slice(0, 5).map((c) => ({ service: c.service, score: Math.round(c.score * 1000) / 1000, ...(c.indicator ? { indicator: c.indicator } : {}) }));
const planView = (p: RemediationPlan | null): DecisionView['plan'] => (p ? { summary: p.summary, steps: p.steps.map((s) => ({ id: s.id, action: s.action, service: s.service, risk: s.risk })) } : null);
const rootView = (r: Inference['rootCause'] | undefined | null) => (r ? { service: r.service, ...(r.indicator ? { indicator: r.indicator } : {}) } : null);

function pathOf(checkpoint: DecisionView['checkpoint'], plan: RemediationPlan | null, shadow: boolean, roles: string[]): string {
  if (!plan) return 'still diagnosing';
  if (plan.steps.length === 0) return 'no action: no plan';
  if (shadow) return 'shadow: plan proposed, not executed';
  if (checkpoint.required === true) return `wait for a person${roles.length ? ` (${roles.join(' or ')})` : ''}`;
  if (checkpoint.required === false) return 'act without a person';
  return 'not reached';
}

/**
 * Re-runs the recorded diagnosis of an incident history under `policy` (default: the
 * recorded one) and `runbooks` (the catalogue now), and compares with what was recorded.
 * `serviceStates` are recorded state captures (from the remediation child), by service.
 */
export function whatIf(history: History, opts: { policy?: Policy; runbooks: Runbook[]; serviceStates?: ReadonlyMap<string, ServiceState> }): WhatIfResult {
  const rec = readRecorded(history);
  const policy = opts.policy ?? rec.policy;
  const notes: string[] = [];
  if (rec.llm) notes.push(`the recorded inference used an LLM (${rec.inference?.llm?.model ?? '?'}); the what-if uses the built-in reasoner alone`);
  if (rec.hypotheses.length) notes.push(`the sub-agents' recorded verdicts (${rec.hypotheses.map((h) => `${h.service} ${h.verdict}`).join(', ')}) re-rank the new ranking; services they did not investigate keep their scores`);

  const firing = rec.alerts.filter((a) => a.status === 'firing');
  const evidence = rec.evidence.map(statusEvidence);
  let candidates = rankCandidates({
    evidence,
    topology: rec.topology,
    alertedServices: rec.request.alertedServices,
    incidentStart: rec.request.incidentStart,
    alerts: firing.map((a) => ({ labels: a.labels, annotations: a.annotations ?? {} })),
  });
  if (rec.hypotheses.length) candidates = rerankWithHypotheses(candidates, rec.hypotheses);
  const verdict = inferRootCause({
    candidates,
    evidence,
    similarIncidents: rec.history.similarIncidents.filter((s) => s.rootCauseService).map((s) => ({ service: s.rootCauseService ?? '', similarity: s.similarity })),
  });
  const uncertain = verdict.confidence < policy.checkpoint.confidenceThreshold;
  const service = verdict.rootCause?.service;
  const recentDeploy = (rec.topology?.changes ?? []).some(
    (c) => c.service === service && c.kind === 'deploy' && c.at >= rec.request.incidentStart - RECENT_CHANGE_SECONDS && c.at <= rec.request.incidentStart + 60,
  );
  const state = service ? (opts.serviceStates?.get(service) ?? null) : null;
  if (service && !state) notes.push(`the state of ${service} at planning time is not in the history: plan parameters that depend on it (replicas, release) may differ`);
  const plan = planRemediation({ rootCause: verdict.rootCause, runbooks: opts.runbooks, policy, recentDeploy, state, evidenceDigests: evidence.map((e) => e.digest ?? '') });
  const severity = highestSeverity(rec.alerts.map((a) => alertSeverity(a, rec.severityMap)));
  const environment = firing.map((a) => a.labels['env'] ?? a.labels['environment']).find((e): e is string => !!e);
  const shadow = plan.steps.some((s) => autonomyFor(policy, s.service, environment, s.action) === 'shadow');
  let checkpoint: DecisionView['checkpoint'] = { required: 'not reached', reasons: [] };
  let roles: string[] = [];
  if (plan.steps.length > 0 && !shadow) {
    const cp = checkpointFor({ policy, severity, plan, environment, uncertain, sampled: false });
    checkpoint = { required: cp.required, reasons: cp.reasons };
    roles = cp.allowedRoles;
  }
  const now: DecisionView = {
    policyVersion: policy.version,
    ranking: top5(candidates),
    rootCause: rootView(verdict.rootCause),
    confidence: verdict.confidence,
    reasoner: 'builtin',
    uncertain,
    checkpoint,
    plan: planView(plan),
    path: pathOf(checkpoint, plan, shadow, roles),
  };

  const recShadow = rec.outcome === 'shadow';
  const recRoles = rec.policy.checkpoint.approverRoles[severity] ?? [];
  const recorded: DecisionView = {
    policyVersion: rec.policy.version,
    ranking: top5(rec.candidates),
    rootCause: rootView(rec.inference?.rootCause),
    confidence: rec.inference?.confidence ?? 0,
    reasoner: rec.inference?.reasoner ?? '?',
    uncertain: rec.inference ? rec.inference.confidence < rec.policy.checkpoint.confidenceThreshold || !!rec.inference.handOff : false,
    checkpoint: rec.checkpoint,
    plan: planView(rec.plan),
    path: pathOf(rec.checkpoint, rec.plan, recShadow, recRoles),
  };
  return { incidentId: rec.incidentId, recorded, now, differences: differences(recorded, now), notes };
}

function rootText(r: DecisionView['rootCause']): string {
  return r ? `${r.service}${r.indicator ? ` [${r.indicator}]` : ''}` : 'none';
}

function checkpointText(c: DecisionView['checkpoint']): string {
  return c.required === 'not reached' ? 'not reached' : c.required ? 'required' : 'not required';
}

function differences(a: DecisionView, b: DecisionView): string[] {
  const out: string[] = [];
  const order = (v: DecisionView) => v.ranking.map((c) => c.service).join(' > ');
  if (order(a) !== order(b)) out.push(`ranking: ${order(a) || 'none'} → ${order(b) || 'none'}`);
  if (rootText(a.rootCause) !== rootText(b.rootCause)) out.push(`root cause: ${rootText(a.rootCause)} → ${rootText(b.rootCause)}`);
  if (Math.abs(a.confidence - b.confidence) >= 0.005) out.push(`confidence: ${Math.round(a.confidence * 100)}% → ${Math.round(b.confidence * 100)}%`);
  if (a.uncertain !== b.uncertain) out.push(`uncertain: ${a.uncertain} → ${b.uncertain}`);
  if (checkpointText(a.checkpoint) !== checkpointText(b.checkpoint)) out.push(`checkpoint: ${checkpointText(a.checkpoint)} → ${checkpointText(b.checkpoint)}${b.checkpoint.reasons.length ? ` (${b.checkpoint.reasons.join('; ')})` : ''}`);
  const steps = (v: DecisionView) => (v.plan?.steps ?? []).map((s) => `${s.action} ${s.service} (${s.risk})`).join(', ');
  if (steps(a) !== steps(b) || (a.plan?.summary ?? '') !== (b.plan?.summary ?? '')) out.push(`plan: ${a.plan?.summary ?? 'none'} → ${b.plan?.summary ?? 'none'}`);
  if (a.path !== b.path) out.push(`path: ${a.path} → ${b.path}`);
  return out;
}

/** Recorded and now side by side, then the differences. */
export function renderWhatIf(r: WhatIfResult): string {
  const width = 58;
  const cut = (s: string) => (s.length > width ? `${s.slice(0, width - 1)}…` : s);
  const row = (label: string, a: string, b: string) => `  ${label.padEnd(13)} ${cut(a).padEnd(width)} ${a === b ? '(same)' : cut(b)}`;
  const cand = (v: DecisionView, i: number) => {
    const c = v.ranking[i];
    return c ? `${c.service}${c.indicator ? ` [${c.indicator}]` : ''} ${c.score.toFixed(2)}` : '-';
  };
  const lines = [`what-if for ${r.incidentId}`, row('', 'recorded', 'now'), row('policy', r.recorded.policyVersion, r.now.policyVersion)];
  for (let i = 0; i < Math.max(r.recorded.ranking.length, r.now.ranking.length); i++) lines.push(row(`ranking #${i + 1}`, cand(r.recorded, i), cand(r.now, i)));
  lines.push(row('root cause', rootText(r.recorded.rootCause), rootText(r.now.rootCause)));
  lines.push(row('confidence', `${Math.round(r.recorded.confidence * 100)}% (${r.recorded.reasoner})`, `${Math.round(r.now.confidence * 100)}% (${r.now.reasoner})`));
  lines.push(row('checkpoint', checkpointText(r.recorded.checkpoint), checkpointText(r.now.checkpoint)));
  lines.push(row('plan', r.recorded.plan?.summary ?? 'none', r.now.plan?.summary ?? 'none'));
  lines.push(row('path', r.recorded.path, r.now.path));
  if (r.now.checkpoint.reasons.length) lines.push('', `  why a person now: ${r.now.checkpoint.reasons.join('; ')}`);
  lines.push('', r.differences.length ? `differences:\n${r.differences.map((d) => `  - ${d}`).join('\n')}` : 'no difference: the current code and policy decide as recorded');
  if (r.notes.length) lines.push('', `notes:\n${r.notes.map((n) => `  - ${n}`).join('\n')}`);
  return lines.join('\n');
}

/** Service states recorded by a remediation child (its captureServiceState results). */
export function recordedServiceStates(remediation: History | undefined): Map<string, ServiceState> {
  const out = new Map<string, ServiceState>();
  if (!remediation) return out;
  const scheduled = new Map<number, string>();
  for (const e of eventViews(remediation)) {
    if (e.type === 'ActivityTaskScheduled') scheduled.set(e.id, String((e.attrs['activityType'] as { name?: string } | undefined)?.name ?? ''));
    if (e.type === 'ActivityTaskCompleted' && scheduled.get(num(e.attrs['scheduledEventId'])) === 'captureServiceState') {
      const s = firstPayload<ServiceState>(e.attrs['result']);
      if (s?.service && !out.has(s.service)) out.set(s.service, s);
    }
  }
  return out;
}
