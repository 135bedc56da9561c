/**
 * IncidentWorkflow: one incident, from its alerts to the post-mortem record.
 *
 * intake (group_wait) → parallel metric/log/trace/topology analysis → ranked candidates →
 * historical cases and runbooks → root-cause inference with a confidence → remediation
 * plan → checkpoint (a person decides when policy says so) → remediation saga (child
 * workflow, with verification and compensation) → report.
 *
 * Deterministic orchestration only: every read of the outside world is an activity, and
 * policy arrives as data with its version.
 */
import {
  allHandlersFinished,
  condition,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { alertService, alertSeverity, highestSeverity, type Alert, type AlertBatch } from '../src/schemas/alert.js';
import type { Candidate, SourceEvidence, TopologyEvidence } from '../src/schemas/evidence.js';
import {
  Decision,
  type CheckpointState,
  type History,
  type IncidentContext,
  type IncidentInput,
  type IncidentStatus,
  type Inference,
  type Outcome,
  type RecordedDecision,
  type RemediationPlan,
  type RootCause,
  type SagaResult,
  type Stage,
} from '../src/schemas/incident.js';
import type { Policy } from '../src/schemas/policy.js';
import { analysis, compute, readLocal, record } from './activity-profiles.js';
import { failureMessage } from './failure-message.js';
import { alertsSignal, decideSignal, decideUpdate, statusQuery } from './messages.js';
import { RemediationSagaWorkflow } from './remediation-saga-workflow.js';

const local = proxyActivities<Activities>(readLocal);
const analyses = proxyActivities<Activities>(analysis);
const computing = proxyActivities<Activities>(compute);
const recording = proxyActivities<Activities>(record);

const EVIDENCE_ORDER = ['metrics', 'logs', 'traces', 'topology'] as const;

export async function IncidentWorkflow(input: IncidentInput): Promise<IncidentStatus> {
  const info = workflowInfo();
  const alerts = new Map<string, Alert>();
  const seenDeliveries = new Set<string>();
  const nowIso = () => new Date(Date.now()).toISOString();

  const status: IncidentStatus = {
    incidentId: input.incidentId,
    stage: 'intake',
    severity: 'P4',
    title: '',
    alerts: [],
    evidence: [],
    missingSources: [],
    topologyServices: [],
    candidates: [],
    history: null,
    inference: null,
    plan: null,
    checkpoint: null,
    decisions: [],
    saga: null,
    verification: null,
    outcome: null,
    policyVersion: null,
    timeline: [],
    report: null,
  };
  let policy: Policy | undefined;
  let pendingDecision: RecordedDecision | undefined;

  const enter = (stage: Stage, note: string) => {
    status.stage = stage;
    status.timeline.push({ at: nowIso(), stage, note });
    log.info('incident stage', { incidentId: input.incidentId, stage });
  };

  const addAlerts = (list: Alert[]) => {
    for (const a of list) {
      const prev = alerts.get(a.fingerprint);
      // A resolved alert replaces its firing record; a firing redelivery changes nothing.
      if (!prev || (prev.status !== a.status && a.status === 'resolved')) alerts.set(a.fingerprint, a);
    }
    status.alerts = [...alerts.values()];
    status.severity = highestSeverity(status.alerts.map((a) => alertSeverity(a)));
    status.title = titleOf(status.alerts);
  };

  // ---- handlers first ----
  setHandler(statusQuery, () => status);
  setHandler(alertsSignal, (batch: AlertBatch) => {
    if (seenDeliveries.has(batch.deliveryId)) return;
    seenDeliveries.add(batch.deliveryId);
    addAlerts(batch.alerts);
  });

  /** Why a decision cannot be taken now; undefined when it can. */
  const refusalOf = (d: Decision): { refusal?: string; role?: string } => {
    const parsed = Decision.safeParse(d);
    if (!parsed.success) return { refusal: `invalid decision: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` };
    if (status.stage !== 'checkpoint' || !status.checkpoint?.required || pendingDecision) {
      return { refusal: `incident ${input.incidentId} is not waiting for a decision (stage: ${status.stage})` };
    }
    const approver = policy?.approvers.find((a) => a.id === d.actor);
    if (!approver) return { refusal: `${d.actor} is not an approver in policy ${policy?.version ?? '?'}` };
    if (!status.checkpoint.allowedRoles.includes(approver.role)) {
      return {
        role: approver.role,
        refusal: `${d.actor} has role ${approver.role}; a ${status.severity} incident needs one of: ${status.checkpoint.allowedRoles.join(', ')}`,
      };
    }
    if (d.kind === 'approve' && d.planDigest !== status.plan?.digest) {
      return { role: approver.role, refusal: 'the plan or evidence changed since it was shown: review the current plan and approve again' };
    }
    if (d.kind === 'override') {
      const known = new Set([...status.candidates.map((c) => c.service), ...status.topologyServices]);
      if (!d.rootCauseService) return { role: approver.role, refusal: 'override needs rootCauseService' };
      if (known.size > 0 && !known.has(d.rootCauseService)) {
        return { role: approver.role, refusal: `unknown service ${d.rootCauseService}: not in the topology or the candidates` };
      }
    }
    return { role: approver.role };
  };

  const accept = (d: Decision, role: string | undefined): RecordedDecision => {
    const rec: RecordedDecision = { ...d, at: nowIso(), accepted: true, policyVersion: policy?.version ?? '?', ...(role ? { role } : {}) };
    status.decisions.push(rec);
    pendingDecision = rec;
    return rec;
  };

  setHandler(
    decideUpdate,
    (d: Decision) => {
      const { role } = refusalOf(d);
      return accept(d, role);
    },
    {
      validator: (d: Decision) => {
        const { refusal } = refusalOf(d);
        if (refusal) throw new Error(refusal);
      },
    },
  );
  setHandler(decideSignal, (d: Decision) => {
    const { refusal, role } = refusalOf(d);
    if (refusal) {
      status.decisions.push({ ...d, at: nowIso(), accepted: false, refusal, policyVersion: policy?.version ?? '?', ...(role ? { role } : {}) });
      return;
    }
    accept(d, role);
  });

  // ---- intake ----
  addAlerts(input.alerts);
  enter('intake', `${alerts.size} alert(s) received`);
  const context: IncidentContext = await local.loadIncidentContext({ overrides: input.settings ?? {} });
  policy = context.policy;
  status.policyVersion = policy.version;
  const settings = context.settings;
  if (settings.groupWaitSeconds > 0) await sleep(settings.groupWaitSeconds * 1000);
  await condition(() => alerts.size > 0);

  const firing = () => status.alerts.filter((a) => a.status === 'firing');
  if (firing().length === 0) {
    status.outcome = 'auto-resolved';
    return finish('all alerts resolved before diagnosis');
  }

  // ---- analysis (parallel; a failing source is recorded as missing) ----
  const alertedServices = unique(firing().map((a) => alertService(a)).filter((s): s is string => !!s));
  const incidentStart = Math.floor(Math.min(...firing().map((a) => Date.parse(a.startsAt))) / 1000);
  const windowEnd = Math.min(incidentStart + settings.incidentWindowSeconds, Math.floor(Date.now() / 1000));
  const request = {
    incidentId: input.incidentId,
    alertedServices,
    incidentStart,
    baselineStart: incidentStart - settings.baselineSeconds,
    end: Math.max(windowEnd, incidentStart + 1),
    stepSeconds: settings.metricsStepSeconds,
  };
  enter('analysis', `analysing ${alertedServices.join(', ') || 'unlabelled alerts'} from ${new Date(incidentStart * 1000).toISOString()}`);
  const settled = await Promise.allSettled([
    analyses.analyzeMetrics(request),
    analyses.analyzeLogs(request),
    analyses.analyzeTraces(request),
    analyses.analyzeTopology(request),
  ]);
  const evidence: SourceEvidence[] = settled.map((r, i) => {
    const source = EVIDENCE_ORDER[i] ?? 'metrics';
    if (r.status === 'fulfilled') return r.value;
    return { source, status: 'missing', error: failureMessage(r.reason), findings: [], stats: {} };
  });
  const topologyResult = settled[3];
  const topology = topologyResult?.status === 'fulfilled' ? (topologyResult.value as TopologyEvidence).topology : null;
  status.evidence = evidence.map(stripTopology);
  status.topologyServices = topology ? topology.services.map((s) => s.name) : [];
  status.missingSources = evidence.filter((e) => e.status === 'missing').map((e) => `${e.source}: ${e.error ?? 'unavailable'}`);

  // ---- ranking ----
  enter('ranking', `${evidence.reduce((n, e) => n + e.findings.length, 0)} findings from ${evidence.filter((e) => e.status === 'ok').length} source(s)`);
  status.candidates = await computing.rankCandidates({ evidence: status.evidence, topology, alertedServices, incidentStart });

  // ---- history ----
  enter('history', 'looking up similar incidents and runbooks');
  status.history = await local.searchHistory({ incidentId: input.incidentId, candidates: status.candidates.slice(0, 3), alerts: status.alerts });

  // ---- inference ----
  enter('inference', 'inferring the root cause');
  status.inference = await computing.inferRootCause({
    incidentId: input.incidentId,
    candidates: status.candidates,
    evidence: status.evidence,
    history: status.history,
  });

  // ---- planning + checkpoint (an override re-plans and asks again) ----
  let rootCause: RootCause | null = status.inference.rootCause;
  const uncertain = status.inference.confidence < policy.checkpoint.confidenceThreshold;
  const sampled = Math.random() < policy.checkpoint.sampleRate;
  for (;;) {
    enter('planning', rootCause ? `planning remediation for ${rootCause.service}` : 'no root cause: nothing to remediate');
    status.plan = await computing.planRemediation({
      incidentId: input.incidentId,
      rootCause,
      incidentStart,
      history: status.history,
      policy,
      evidenceDigests: status.evidence.map((e) => e.digest ?? ''),
    });
    if (status.plan.steps.length === 0) {
      status.outcome = 'no-action';
      return finish(status.plan.summary);
    }
    const autonomy = policy.autonomy.services[status.plan.service ?? ''] ?? policy.autonomy.default;
    if (autonomy === 'shadow') {
      status.outcome = 'shadow';
      return finish(`shadow mode for ${status.plan.service}: plan proposed, not executed`);
    }
    status.checkpoint = checkpointFor(policy, status.severity, status.plan, uncertain && !hasOverride(status.decisions), sampled);
    if (!status.checkpoint.required) break;

    status.checkpoint.since = nowIso();
    pendingDecision = undefined;
    enter('checkpoint', `waiting for ${status.checkpoint.allowedRoles.join(' or ')}: ${status.checkpoint.reasons.join('; ')}`);
    const decided = await condition(() => pendingDecision !== undefined, policy.checkpoint.timeoutSeconds * 1000);
    const decision = pendingDecision as RecordedDecision | undefined;
    if (!decided || !decision) {
      status.outcome = 'escalated-no-decision';
      return finish(`no decision within ${policy.checkpoint.timeoutSeconds}s: safe default, no remediation; handed over`);
    }
    if (decision.kind === 'reject') {
      status.outcome = 'rejected';
      return finish(`rejected by ${decision.actor}${decision.reason ? `: ${decision.reason}` : ''}`);
    }
    if (decision.kind === 'override') {
      rootCause = { service: decision.rootCauseService ?? '' };
      status.timeline.push({ at: nowIso(), stage: 'checkpoint', note: `${decision.actor} overrode the root cause to ${rootCause.service}` });
      continue;
    }
    status.timeline.push({ at: nowIso(), stage: 'checkpoint', note: `approved by ${decision.actor} (${decision.role ?? '?'})` });
    break;
  }

  // ---- remediation saga (child workflow: its own history, cancellable as a unit) ----
  enter('remediation', status.plan.summary);
  const saga: SagaResult = await executeChild(RemediationSagaWorkflow, {
    workflowId: `${input.incidentId}-remediation`,
    args: [
      {
        incidentId: input.incidentId,
        keyPrefix: `${input.incidentId}:${info.firstExecutionRunId.slice(0, 8)}`,
        plan: status.plan,
        verification: {
          windowSeconds: policy.verification.windowSeconds,
          toleranceMads: policy.verification.toleranceMads,
          baselineStart: request.baselineStart,
          baselineEnd: incidentStart,
          services: unique([status.plan.service ?? '', ...alertedServices].filter(Boolean)),
        },
      },
    ],
  });
  status.saga = saga;
  status.verification = saga.verification ?? null;
  status.outcome =
    saga.outcome === 'completed'
      ? 'remediated'
      : saga.outcome === 'not-recovered-compensated'
        ? 'not-recovered-rolled-back'
        : 'remediation-failed';
  return finish(saga.summary);

  async function finish(note: string): Promise<IncidentStatus> {
    enter('report', note);
    status.report = await recording.writeReport({ status, temporal: { workflowId: info.workflowId, runId: info.runId } });
    enter('closed', status.outcome ?? 'closed');
    await condition(allHandlersFinished);
    return status;
  }
}

function checkpointFor(policy: Policy, severity: IncidentStatus['severity'], plan: RemediationPlan, uncertain: boolean, sampled: boolean): CheckpointState {
  const reasons: string[] = [];
  if (policy.checkpoint.alwaysFor.includes(severity)) reasons.push(`${severity} incidents always need a person`);
  if (uncertain) reasons.push(`root-cause confidence below ${policy.checkpoint.confidenceThreshold}: uncertain, a person must confirm or correct it`);
  const risky = plan.steps.filter((s) => policy.checkpoint.approvalRisk.includes(s.risk));
  if (risky.length > 0) reasons.push(`${risky.map((s) => `${s.action} ${s.service} (${s.risk})`).join(', ')} needs approval by risk class`);
  if (reasons.length === 0 && sampled) reasons.push(`sampled for review (${policy.checkpoint.sampleRate * 100}% of incidents)`);
  return {
    required: reasons.length > 0,
    reasons,
    allowedRoles: policy.checkpoint.approverRoles[severity] ?? ['incident-commander'],
    uncertain,
  };
}

function hasOverride(decisions: RecordedDecision[]): boolean {
  return decisions.some((d) => d.accepted && d.kind === 'override');
}

function titleOf(alerts: Alert[]): string {
  const first = alerts[0];
  if (!first) return 'incident';
  const name = first.labels['alertname'] ?? 'alert';
  const svc = alertService(first);
  return `${name}${svc ? ` on ${svc}` : ''}${alerts.length > 1 ? ` (+${alerts.length - 1} more)` : ''}`;
}

function stripTopology(e: SourceEvidence): SourceEvidence {
  // The topology graph itself goes to ranking; the status keeps the findings only.
  const { source, status, error, findings, ref, digest, stats } = e;
  return { source, status, findings, stats, ...(error ? { error } : {}), ...(ref ? { ref } : {}), ...(digest ? { digest } : {}) };
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
