/**
 * IncidentWorkflow: one incident, from its alerts to the post-mortem record.
 *
 * intake (group_wait) → parallel metric/log/trace/topology analysis → ranked candidates →
 * historical cases and runbooks → root-cause inference with a confidence → remediation
 * plan → checkpoint (a person decides when policy says so; unanswered requests escalate
 * along the policy's chain, then the safe default) → remediation saga (child workflow,
 * with kill switch, verification and compensation) → report.
 *
 * High-risk (two-phase) steps are prepared by the downstream before a person is asked:
 * the checkpoint shows what each commit will do, and the approval binds to it. Prepared
 * steps that will not be committed (rejection, no decision, takeover, a new plan, an
 * expired preparation) are released, and each release is recorded.
 *
 * Deterministic orchestration only: every read of the outside world is an activity, and
 * policy arrives as data with its version.
 */
import {
  allHandlersFinished,
  CancellationScope,
  condition,
  executeChild,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { ACTIVITY_ALERTS_LIMIT, alertCounts, alertsPage, representativeAlerts, STATUS_ALERTS_LIMIT, statusAlerts } from '../src/alerts/bounded-alerts.js';
import { authorizeDecision, autonomyFor, checkpointFor } from '../src/policy/checkpoint-rules.js';
import { alertService, alertSeverity, highestSeverity, type Alert, type AlertBatch } from '../src/schemas/alert.js';
import { statusEvidence, type SourceEvidence, type TopologyEvidence } from '../src/schemas/evidence.js';
import {
  AlertsPageRequest,
  type AlertsPageQuery,
  type Decision,
  type IncidentContext,
  type IncidentInput,
  type IncidentStatus,
  type PreparedRelease,
  type PreparedStep,
  type RecordedDecision,
  type RemediationPlan,
  type RootCause,
  type SagaResult,
  type Stage,
} from '../src/schemas/incident.js';
import { Role, type Policy } from '../src/schemas/policy.js';
import type { Topology } from '../src/schemas/telemetry.js';
import { actionProfile, analysis, compensationProfile, compute, readLocal, record } from './activity-profiles.js';
import { failureMessage } from './failure-message.js';
import {
  alertsSignal,
  decideSignal,
  decideUpdate,
  incidentAlertsQuery,
  incidentClosedSignal,
  incidentClosingSignal,
  incidentReleaseSignal,
  statusQuery,
  type IncidentRelease,
} from './messages.js';
import { agentOf, createEvidenceRecorder, diagnosisToolCalls } from './evidence-recorder.js';
import { HypothesisWorkflow } from './hypothesis-workflow.js';
import { RemediationSagaWorkflow } from './remediation-saga-workflow.js';

const local = proxyActivities<Activities>(readLocal);
const analyses = proxyActivities<Activities>(analysis);
const computing = proxyActivities<Activities>(compute);
const recording = proxyActivities<Activities>(record);

const EVIDENCE_ORDER = ['metrics', 'logs', 'traces', 'topology'] as const;
/** Follow-up alerts per closing signal to the group (payloads stay far under 2 MiB). */
const FOLLOW_UP_PER_SIGNAL = 200;
/** Alerts per activity that writes a storm's whole alert list to the evidence store (~300 KB each). */
const ALERTS_PER_EVIDENCE_PART = 500;
/** Patch: a storm's whole alert list goes to the evidence store before the report (histories before it wrote the report at once). */
const ALERTS_EVIDENCE_PATCH = 'incident-alerts-evidence';

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
    alertsTotal: 0,
    alertsFiring: 0,
    alertsResolved: 0,
    alertsBySource: {},
    evidence: [],
    missingSources: [],
    topologyServices: [],
    candidates: [],
    hypotheses: [],
    history: null,
    inference: null,
    rootCause: null,
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
  let takeover: RecordedDecision | undefined;
  let alertsRevision = 0;
  let planDigest = '';
  /** Digest of the prepared high-risk steps shown at the checkpoint ('' when none). */
  let preparedDigest = '';
  /** Prepared steps still held (not committed, not released). */
  let heldPrepared: PreparedStep[] = [];
  let prepareRound = 0;
  /** Firing alert lifecycles (fingerprint@startsAt) the last diagnosis round started from. */
  let diagnosed = new Set<string>();
  /** The alert group's release of this closing incident (closeHoldSeconds). */
  let released: IncidentRelease | undefined;
  const keyPrefix = `${input.incidentId}:${info.firstExecutionRunId.slice(0, 8)}`;

  const enter = (stage: Stage, note: string) => {
    status.stage = stage;
    status.timeline.push({ at: nowIso(), stage, note });
    log.info('incident stage', { incidentId: input.incidentId, stage });
  };
  const note = (text: string) => status.timeline.push({ at: nowIso(), stage: status.stage, note: text });
  const binding = () => `${planDigest}${preparedDigest ? `.p${preparedDigest}` : ''}.a${alertsRevision}`;
  const evidencePacket = createEvidenceRecorder({
    incidentId: input.incidentId,
    policyVersion: () => policy?.version ?? 'unknown',
    agent: () => agentOf(status.inference),
    onFailure: note,
  });
  const pendingPackets: Promise<void>[] = [];
  /** Decisions arrive in handlers; their packets are written from the main flow. */
  const recordDecisionPacket = (rec: RecordedDecision, claimedRole?: string) => {
    const role = Role.safeParse(rec.role ?? claimedRole);
    pendingPackets.push(
      evidencePacket(`decision-${status.decisions.length}`, {
        kind: rec.accepted ? 'checkpoint-decision' : 'decision-refused',
        planSummary: status.plan?.summary ?? 'no plan yet',
        justification: rec.accepted ? `${rec.kind} by ${rec.actor}${rec.reason ? `: ${rec.reason}` : ''}` : `refused ${rec.kind} by ${rec.actor}: ${rec.refusal ?? ''}`,
        policy: {
          decidingRule: rec.accepted ? `checkpoint.approverRoles.${status.severity}` : 'checkpoint authorization',
          outcome: rec.accepted ? `accepted (${rec.verifiedBy ?? '?'})` : `refused: ${rec.refusal ?? ''}`,
        },
        actor: role.success ? { type: 'person', id: rec.actor, role: role.data } : { type: 'system', id: rec.actor },
        details: {
          kind: rec.kind,
          planDigest: rec.planDigest ?? null,
          rootCauseService: rec.rootCauseService ?? null,
          claimedRole: rec.role ?? null,
          ...(heldPrepared.length ? { prepared: heldPrepared.map((p) => ({ stepId: p.stepId, handle: p.handle, summary: p.summary, expiresAt: p.expiresAt })), preparedDigest } : {}),
        },
      }),
    );
  };

  /** Every alert of the incident, in arrival order (the status lists at most STATUS_ALERTS_LIMIT). */
  const allAlerts = () => [...alerts.values()];
  /** A bounded, varied selection for activity inputs (never the whole storm). */
  const forActivity = (list: Alert[]) => representativeAlerts(list, { limit: ACTIVITY_ALERTS_LIMIT, severityMap: input.aggregation?.severityMap });

  const addAlerts = (list: Alert[]) => {
    let changed = false;
    for (const a of list) {
      const prev = alerts.get(a.fingerprint);
      // A resolved alert replaces its firing record; a redelivery changes nothing.
      if (!prev || (prev.status !== a.status && a.status === 'resolved')) {
        alerts.set(a.fingerprint, a);
        changed = true;
      }
    }
    if (!changed) return;
    alertsRevision++;
    const all = allAlerts();
    // The status (query answer, activity input, result) lists a bounded selection; the counts say how many.
    status.alerts = statusAlerts(all, { severityMap: input.aggregation?.severityMap });
    Object.assign(status, alertCounts(all));
    status.severity = highestSeverity(all.map((a) => alertSeverity(a, input.aggregation?.severityMap)));
    status.title = titleOf(all);
    if (status.checkpoint?.bindingDigest) status.checkpoint.bindingDigest = binding();
  };

  // ---- handlers first ----
  setHandler(statusQuery, () => status);
  setHandler(incidentAlertsQuery, (request: AlertsPageQuery) => {
    const parsed = AlertsPageRequest.safeParse(request ?? {});
    if (!parsed.success) throw new Error(`bad incident-alerts request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}`);
    return alertsPage(allAlerts(), parsed.data);
  });
  setHandler(incidentReleaseSignal, (r: IncidentRelease) => {
    if (r.incidentId === input.incidentId) released = r;
  });
  setHandler(alertsSignal, (batch: AlertBatch) => {
    if (seenDeliveries.has(batch.deliveryId)) return;
    seenDeliveries.add(batch.deliveryId);
    if (batch.note) note(batch.note);
    addAlerts(batch.alerts);
  });

  const authorize = (d: Decision) => {
    if (!policy) return { refusal: 'the incident is still starting', identity: d.actor };
    if (status.stage === 'closed' || status.stage === 'report') return { refusal: `incident ${input.incidentId} is closed`, identity: d.actor };
    return authorizeDecision(d, {
      policy,
      nowSeconds: Math.floor(Date.now() / 1000),
      checkpoint: status.checkpoint,
      waiting: status.stage === 'checkpoint' && pendingDecision === undefined,
      severity: status.severity,
      knownServices: new Set([...status.candidates.map((c) => c.service), ...status.topologyServices]),
    });
  };
  const recordDecision = (d: Decision, auth: ReturnType<typeof authorize>): RecordedDecision => {
    const { token: _token, ...rest } = d;
    const rec: RecordedDecision = {
      ...rest,
      actor: auth.identity,
      at: nowIso(),
      accepted: !('refusal' in auth),
      policyVersion: policy?.version ?? '?',
      ...(auth.role ? { role: auth.role } : {}),
      ...('refusal' in auth ? { refusal: auth.refusal } : { verifiedBy: auth.verifiedBy }),
    };
    status.decisions.push(rec);
    recordDecisionPacket(rec);
    if (rec.accepted) {
      if (rec.kind === 'takeover') takeover = rec;
      else pendingDecision = rec;
    }
    return rec;
  };
  setHandler(decideUpdate, (d: Decision) => recordDecision(d, authorize(d)), {
    validator: (d: Decision) => {
      const auth = authorize(d);
      if ('refusal' in auth) throw new Error(auth.refusal);
    },
  });
  // Senders that cannot wait: refusals are recorded in the incident, with the identity.
  setHandler(decideSignal, (d: Decision) => {
    recordDecision(d, authorize(d));
  });

  // ---- intake ----
  addAlerts(input.alerts);
  enter('intake', `${alerts.size} alert(s) received`);
  for (const n of input.aggregation?.notes ?? []) note(n);
  const context: IncidentContext = await local.loadIncidentContext({ overrides: input.settings ?? {} });
  policy = context.policy;
  const activePolicy = policy;
  status.policyVersion = policy.version;
  const settings = context.settings;
  if (settings.groupWaitSeconds > 0) await sleep(settings.groupWaitSeconds * 1000);
  await condition(() => alerts.size > 0);

  const firing = () => allAlerts().filter((a) => a.status === 'firing');
  if (firing().length === 0) {
    status.outcome = 'auto-resolved';
    return finish('all alerts resolved before diagnosis');
  }
  const environment = firing()
    .map((a) => a.labels['env'] ?? a.labels['environment'])
    .find((e): e is string => !!e);

  let incidentStart = 0;
  let baselineStart = 0;
  let alertedServices: string[] = [];
  let sampled = false;
  let sampledDrawn = false;

  diagnosis: for (let round = 1; ; round++) {
    diagnosed = new Set(firing().map(lifecycleOf));
    // ---- analysis (parallel; a failing source is recorded as missing) ----
    alertedServices = unique(firing().map((a) => alertService(a)).filter((s): s is string => !!s));
    incidentStart = Math.floor(Math.min(...firing().map((a) => Date.parse(a.startsAt))) / 1000);
    baselineStart = incidentStart - settings.baselineSeconds;
    const windowEnd = Math.min(incidentStart + settings.incidentWindowSeconds, Math.floor(Date.now() / 1000));
    const request = {
      incidentId: input.incidentId,
      alertedServices,
      incidentStart,
      baselineStart,
      end: Math.max(windowEnd, incidentStart + 1),
      stepSeconds: settings.metricsStepSeconds,
    };
    enter('analysis', `${round > 1 ? `re-diagnosis ${round}: ` : ''}analysing ${alertedServices.join(', ') || 'unlabelled alerts'} from ${new Date(incidentStart * 1000).toISOString()}`);
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
    const topology: Topology | null = topologyResult?.status === 'fulfilled' ? (topologyResult.value as TopologyEvidence).topology : null;
    status.evidence = evidence.map(statusEvidence);
    status.topologyServices = topology ? topology.services.map((s) => s.name) : [];
    status.missingSources = evidence.filter((e) => e.status === 'missing').map((e) => `${e.source}: ${e.error ?? 'unavailable'}`);

    // ---- ranking ----
    enter('ranking', `${evidence.reduce((n, e) => n + e.findings.length, 0)} findings from ${evidence.filter((e) => e.status === 'ok').length} source(s)`);
    status.candidates = await computing.rankCandidates({
      evidence: status.evidence,
      topology,
      alertedServices,
      incidentStart,
      alerts: forActivity(firing()).map((a) => ({ labels: a.labels, annotations: a.annotations })),
    });

    // ---- hypotheses: one sub-agent (child workflow) per leading candidate, in parallel ----
    const leading = status.candidates.slice(0, settings.hypotheses);
    if (leading.length > 0) {
      enter('ranking', `investigating ${leading.length} hypothesis(es): ${leading.map((c) => c.service).join(', ')}`);
      const findings = status.evidence.flatMap((e) => e.findings);
      const settledHypotheses = await Promise.allSettled(
        leading.map((c, i) =>
          executeChild(HypothesisWorkflow, {
            workflowId: `${input.incidentId}-hypothesis-${round}-${i + 1}`,
            workflowExecutionTimeout: `${settings.hypothesisTimeoutSeconds}s`,
            args: [{ incidentId: input.incidentId, service: c.service, rank: i + 1, incidentStart, baselineStart, end: request.end, stepSeconds: settings.metricsStepSeconds, incidentFindings: findings }],
          }),
        ),
      );
      status.hypotheses = settledHypotheses.map((r, i) =>
        r.status === 'fulfilled'
          ? r.value
          : { service: leading[i]?.service ?? '?', rank: i + 1, verdict: 'not-investigated' as const, evidenceFor: [], evidenceAgainst: [], error: failureMessage(r.reason), toolCalls: 0 },
      );
      status.candidates = await computing.rerankCandidates({ candidates: status.candidates, hypotheses: status.hypotheses });
      note(`hypotheses: ${status.hypotheses.map((h) => `${h.service} ${h.verdict}`).join(', ')}`);
    }

    // ---- history ----
    enter('history', 'looking up similar incidents and runbooks');
    status.history = await local.searchHistory({ incidentId: input.incidentId, candidates: status.candidates.slice(0, 3), alerts: forActivity(allAlerts()) });
    // A degraded retrieval (embeddings or the knowledge store unavailable) is said in the timeline.
    for (const n of status.history.retrieval?.notes ?? []) if (n.includes('unavailable')) note(n);

    // ---- inference ----
    enter('inference', 'inferring the root cause');
    status.inference = await computing.inferRootCause({
      incidentId: input.incidentId,
      candidates: status.candidates,
      evidence: status.evidence,
      history: status.history,
      alerts: forActivity(allAlerts()),
      topologyServices: status.topologyServices,
      confidenceThreshold: activePolicy.checkpoint.confidenceThreshold,
      ...(status.inference?.llm ? { llmTokensUsed: status.inference.llm.tokens.used } : {}),
    });
    const uncertain = status.inference.confidence < activePolicy.checkpoint.confidenceThreshold || status.inference.handOff;
    if (uncertain) {
      note(
        status.inference.handOff
          ? `handed to a person: ${status.inference.handOffReason ?? 'the reasoners disagree'}`
          : `flagged uncertain: confidence ${(status.inference.confidence * 100).toFixed(0)}% is below ${activePolicy.checkpoint.confidenceThreshold * 100}%`,
      );
    }
    const top = status.candidates.slice(0, 5);
    await evidencePacket(`diagnosis-${round}`, {
      kind: 'diagnosis',
      planSummary: status.inference.rootCause ? `root cause ${status.inference.rootCause.service} at ${(status.inference.confidence * 100).toFixed(0)}% confidence` : 'no root cause identified',
      justification: status.inference.reasoning.slice(0, 3).join(' ') || 'no evidence pointed at a service',
      toolCalls: diagnosisToolCalls(status.evidence, { start: baselineStart, end: request.end }),
      actor: { type: 'agent', id: `vigil-${status.inference.reasoner}` },
      details: {
        candidates: top.map((c) => ({ service: c.service, score: c.score, indicator: c.indicator ?? null })),
        confidence: status.inference.confidence,
        decidedBy: status.inference.decidedBy,
        uncertain,
        missingSources: status.missingSources,
        retrieval: status.history.retrieval ? { method: status.history.retrieval.method, notes: status.history.retrieval.notes } : null,
      },
    });
    if (!sampledDrawn) {
      sampled = Math.random() < activePolicy.checkpoint.sampleRate;
      sampledDrawn = true;
    }

    // ---- planning + checkpoint (an override re-plans and asks again) ----
    let rootCause: RootCause | null = status.inference.rootCause;
    let overridden = false;
    for (;;) {
      status.rootCause = rootCause;
      enter('planning', rootCause ? `planning remediation for ${rootCause.service}` : 'no root cause: nothing to remediate');
      status.plan = await computing.planRemediation({
        incidentId: input.incidentId,
        rootCause,
        incidentStart,
        history: status.history,
        policy: activePolicy,
        evidenceDigests: status.evidence.map((e) => e.digest ?? ''),
        ...(environment ? { environment } : {}),
      });
      planDigest = status.plan.digest;
      if (status.plan.steps.length === 0) {
        status.outcome = 'no-action';
        return finish(status.plan.summary);
      }
      const shadowed = status.plan.steps.filter((s) => autonomyFor(activePolicy, s.service, environment, s.action) === 'shadow');
      if (shadowed.length > 0) {
        status.outcome = 'shadow';
        return finish(`shadow mode for ${unique(shadowed.map((s) => s.service)).join(', ')}: plan proposed, not executed`);
      }
      status.checkpoint = checkpointFor({ policy: activePolicy, severity: status.severity, plan: status.plan, environment, uncertain: uncertain && !overridden, sampled });
      if (status.checkpoint.required && status.plan.steps.some((s) => s.twoPhase)) {
        const failure = await prepareForCheckpoint(status.plan);
        if (failure) {
          status.outcome = 'remediation-failed';
          await notifyChain('remediation', failure);
          return finish(failure);
        }
      }
      if (!status.checkpoint.required) {
        await evidencePacket(`auto-approval-${round}`, {
          kind: 'checkpoint-decision',
          planSummary: status.plan.summary,
          justification: 'no checkpoint rule applies: every step is within the autonomy the policy grants',
          policy: {
            decidingRule: `autonomy.${autonomyFor(activePolicy, status.plan.service ?? '', environment)}`,
            outcome: 'allowed without a person',
            applied: [{ name: 'checkpoint.alwaysFor', effect: activePolicy.checkpoint.alwaysFor.join(',') }, { name: 'checkpoint.confidenceThreshold', effect: String(activePolicy.checkpoint.confidenceThreshold) }],
          },
          actor: { type: 'agent', id: 'vigil-policy' },
        });
        break diagnosis;
      }

      const decision = await waitForDecision();
      if (!decision) {
        status.outcome = takeover ? 'manual-takeover' : 'escalated-no-decision';
        await releasePrepared(takeover ? `${takeover.actor} took over manually` : 'no decision after the whole escalation chain');
        return finish(takeover ? `${takeover.actor} took over manually` : 'no decision after the whole escalation chain: safe default, no remediation; handed over');
      }
      if (decision.kind === 'reject') {
        status.outcome = 'rejected';
        await releasePrepared(`rejected by ${decision.actor}`);
        return finish(`rejected by ${decision.actor}${decision.reason ? `: ${decision.reason}` : ''}`);
      }
      if (decision.kind === 'rediagnose') {
        note(`${decision.actor} asked for more diagnosis`);
        await releasePrepared(`${decision.actor} asked for more diagnosis: the plan will change`);
        continue diagnosis;
      }
      if (decision.kind === 'override') {
        await releasePrepared(`${decision.actor} overrode the root cause: the plan will change`);
        const service = decision.rootCauseService ?? '';
        const indicator = decision.rootCauseIndicator ?? status.candidates.find((c) => c.service === service)?.indicator;
        rootCause = { service, ...(indicator ? { indicator } : {}) };
        overridden = true;
        note(`${decision.actor} overrode the root cause to ${rootCause.service}`);
        continue;
      }
      note(`approved by ${decision.actor} (${decision.role ?? '?'}, ${decision.verifiedBy ?? '?'})`);
      const expired = heldPrepared.filter((p) => Date.now() / 1000 >= p.expiresAt);
      if (expired.length > 0) {
        // The approval bound to a preparation that no longer holds: prepare again, ask again.
        note(`prepared ${expired.map((p) => `${p.stepId} (${p.handle})`).join(', ')} expired before the approval: preparing again and asking again`);
        await releasePrepared(`expired before ${decision.actor}'s approval: the approval bound to a preparation that no longer holds`);
        continue;
      }
      break diagnosis;
    }
  }

  // ---- remediation saga (child workflow: its own history, cancellable as a unit) ----
  const plan = status.plan;
  if (!plan) throw new Error('unreachable: remediation without a plan');
  if (takeover) {
    status.outcome = 'manual-takeover';
    await releasePrepared(`${takeover.actor} took over manually before remediation`);
    return finish(`${takeover.actor} took over manually before remediation`);
  }
  enter('remediation', plan.summary);
  // The saga commits what was prepared (and releases what it does not commit).
  const handedOver = heldPrepared;
  heldPrepared = [];
  const sagaScope = new CancellationScope();
  const sagaRun = sagaScope.run(() =>
    executeChild(RemediationSagaWorkflow, {
      workflowId: `${input.incidentId}-remediation`,
      args: [
        {
          incidentId: input.incidentId,
          keyPrefix,
          plan,
          ...(handedOver.length ? { prepared: handedOver } : {}),
          ...(plan.steps.some((s) => s.twoPhase) ? { prepareTtlSeconds: activePolicy.remediation.prepareTtlSeconds ?? 3600 } : {}),
          policyVersion: activePolicy.version,
          agent: agentOf(status.inference),
          killSwitchPollSeconds: activePolicy.killSwitch.pollSeconds,
          timing: activePolicy.remediation,
          verification: {
            windowSeconds: activePolicy.verification.windowSeconds,
            toleranceMads: activePolicy.verification.toleranceMads,
            baselineStart,
            baselineEnd: incidentStart,
            services: unique([plan.service ?? '', ...alertedServices].filter(Boolean)),
          },
        },
      ],
    }),
  );
  void condition(() => takeover !== undefined).then(() => {
    note(`${takeover?.actor ?? '?'} took over manually: stopping remediation`);
    sagaScope.cancel();
  });
  let saga: SagaResult;
  try {
    saga = await sagaRun;
  } catch (err) {
    saga = { outcome: takeover ? 'cancelled' : 'failed-compensation-incomplete', actions: [], remainingUndo: plan.steps, summary: `remediation ended abnormally: ${failureMessage(err)}`, error: failureMessage(err) };
    // The saga reported nothing (it could not start, or it was stopped): what it was handed
    // may still be held downstream. Release it rather than let it lapse; a downstream refuses
    // to abort what was committed, and the refusal is recorded.
    heldPrepared = handedOver;
    await releasePrepared(`remediation ended abnormally: ${failureMessage(err)}`);
  }
  status.saga = saga;
  if (saga.released?.length) status.releases = [...(status.releases ?? []), ...saga.released];
  status.verification = saga.verification ?? null;
  status.outcome =
    saga.outcome === 'completed'
      ? 'remediated'
      : saga.outcome === 'not-recovered-compensated'
        ? 'not-recovered-rolled-back'
        : saga.outcome === 'cancelled'
          ? 'manual-takeover'
          : 'remediation-failed';
  if (saga.outcome !== 'completed') await notifyChain('remediation', saga.summary);
  return finish(saga.summary);

  /**
   * Prepares the plan's high-risk steps before a person is asked: the checkpoint shows
   * what each commit will do and the approval binds to it. Returns why preparing failed
   * (nothing was changed; whatever was prepared is released), or undefined.
   */
  async function prepareForCheckpoint(plan: RemediationPlan): Promise<string | undefined> {
    const cp = status.checkpoint;
    const steps = plan.steps.filter((s) => s.twoPhase);
    if (!cp || steps.length === 0) return undefined;
    prepareRound++;
    const keys = Object.fromEntries(steps.map((s) => [s.id, `${keyPrefix}:${s.id}:prepare-${prepareRound}`]));
    const ttl = activePolicy.remediation.prepareTtlSeconds ?? 3600;
    const preparing = proxyActivities<Activities>(actionProfile(activePolicy.remediation));
    try {
      const r = await preparing.prepareSteps({ incidentId: input.incidentId, steps, keys, ttlSeconds: ttl, stage: 'preparation' });
      heldPrepared = r.prepared;
      preparedDigest = r.digest;
      cp.prepared = r.prepared;
      cp.preparedDigest = r.digest;
      note(`prepared before the checkpoint: ${r.prepared.map((p) => `${p.stepId} ${p.summary} (until ${new Date(p.expiresAt * 1000).toISOString()})`).join('; ')}`);
    } catch (err) {
      const why = `high-risk step(s) could not be prepared: ${failureMessage(err)}; nothing was changed, no remediation: handed over`;
      await evidencePacket(`prepare-${prepareRound}-failed`, {
        kind: 'escalation',
        planSummary: plan.summary,
        justification: why,
        policy: { decidingRule: `remediation.twoPhaseRisk`, outcome: 'prepare failed: no remediation' },
        actor: { type: 'agent', id: 'vigil-preparation' },
      });
      return why;
    }
    for (const p of heldPrepared) {
      const step = steps.find((s) => s.id === p.stepId);
      await evidencePacket(`prepare-${prepareRound}-${p.stepId}`, {
        kind: 'remediation-prepare',
        planSummary: plan.summary,
        justification: `${step?.description ?? p.stepId} is ${step?.risk ?? 'high'} risk: prepared before the checkpoint so the person approves what the commit will do: ${p.summary}`,
        policy: { decidingRule: `remediation.twoPhaseRisk includes ${step?.risk ?? '?'}`, outcome: 'prepared; commit only after approval' },
        action: {
          kind: p.action,
          target: p.service,
          stepId: p.stepId,
          idempotencyKey: keys[p.stepId] ?? '',
          parameters: { ...p.parameters, handle: p.handle, expiresAt: p.expiresAt },
          executed: false,
          downstream: { status: p.status, summary: p.summary },
        },
        actor: { type: 'agent', id: 'vigil-preparation' },
        details: { before: p.before, expected: p.expected, preparedDigest },
      });
    }
    return undefined;
  }

  /** Releases the prepared steps still held (never committed), and records each release. */
  async function releasePrepared(reason: string): Promise<void> {
    if (heldPrepared.length === 0) return;
    const list = heldPrepared;
    heldPrepared = [];
    preparedDigest = '';
    const releasing = proxyActivities<Activities>(compensationProfile(activePolicy.remediation));
    let results: PreparedRelease[];
    try {
      results = await releasing.abortPrepared({ incidentId: input.incidentId, prepared: list, reason, stage: 'preparation' });
    } catch (err) {
      results = list.map((p) => ({ stepId: p.stepId, handle: p.handle, status: 'failed', reason, expiresAt: p.expiresAt, error: failureMessage(err), at: nowIso() }));
    }
    status.releases = [...(status.releases ?? []), ...results];
    for (const r of results) {
      note(`released prepared ${r.stepId} (${r.handle}) without a commit: ${r.status}${r.error ? ` (${r.error}; it lapses at ${new Date(r.expiresAt * 1000).toISOString()})` : ''}: ${reason}`);
      await evidencePacket(`release-${prepareRound}-${r.stepId}`, {
        kind: 'prepare-release',
        planSummary: status.plan?.summary ?? 'no plan',
        justification: `prepared ${r.stepId} released, never committed: ${reason}`,
        action: { kind: 'abort', target: r.handle, stepId: r.stepId, parameters: { reason }, executed: r.status !== 'failed', downstream: { status: r.status, ...(r.error ? { summary: r.error } : {}) } },
        actor: { type: 'agent', id: 'vigil-preparation' },
      });
    }
  }

  /** Waits for a decision, escalating along the policy's chain; undefined = nobody decided (or a takeover). */
  async function waitForDecision(): Promise<RecordedDecision | undefined> {
    const cp = status.checkpoint;
    if (!cp) return undefined;
    const chain = activePolicy.escalation.chain.length > 0 ? activePolicy.escalation.chain : [{ role: cp.allowedRoles[0] ?? 'incident-commander', afterSeconds: activePolicy.checkpoint.timeoutSeconds }];
    pendingDecision = undefined;
    cp.since = nowIso();
    cp.bindingDigest = binding();
    enter('checkpoint', `waiting for ${cp.allowedRoles.join(' or ')}: ${cp.reasons.join('; ')}`);
    for (let level = 0; level < chain.length; level++) {
      const step = chain[level];
      if (!step) break;
      cp.escalationLevel = level;
      cp.notifiedRole = step.role;
      cp.deadline = new Date(Date.now() + step.afterSeconds * 1000).toISOString();
      if (level > 0) {
        note(`no decision: escalated to ${step.role} (level ${level + 1} of ${chain.length})`);
        await evidencePacket(`escalation-${level}`, {
          kind: 'escalation',
          planSummary: status.plan?.summary ?? 'no plan',
          justification: `no decision within ${chain[level - 1]?.afterSeconds ?? '?'}s: asking ${step.role}`,
          actor: { type: 'agent', id: 'vigil-escalation' },
          details: { level, role: step.role },
        });
      }
      await notifyChain(level === 0 ? 'approval-requested' : 'escalated', `${status.title}: ${cp.reasons.join('; ')}`, step.role, level);
      const decided = await condition(() => pendingDecision !== undefined || takeover !== undefined, step.afterSeconds * 1000);
      if (takeover) return undefined;
      if (decided) return pendingDecision;
    }
    await notifyChain('handed-over', `no decision from ${chain.map((c) => c.role).join(' → ')}: no remediation; the incident is handed over`);
    await evidencePacket('escalation-exhausted', {
      kind: 'escalation',
      planSummary: status.plan?.summary ?? 'no plan',
      justification: `nobody decided after ${chain.map((c) => c.role).join(' → ')}: the safe default is no remediation`,
      policy: { decidingRule: 'escalation.chain exhausted → safe default', outcome: 'no remediation; handed over' },
      actor: { type: 'agent', id: 'vigil-escalation' },
    });
    return undefined;
  }

  async function notifyChain(event: string, text: string, role?: string, level?: number): Promise<void> {
    if (activePolicy.escalation.webhooks.length === 0) return;
    try {
      await recording.notify({
        incidentId: input.incidentId,
        event,
        text,
        severity: status.severity,
        webhooks: activePolicy.escalation.webhooks,
        ...(role ? { role } : {}),
        ...(level !== undefined ? { level } : {}),
      });
      note(`notified ${role ?? 'subscribers'}: ${event}`);
    } catch (err) {
      note(`notification ${event} failed: ${failureMessage(err)}`);
    }
  }

  async function finish(text: string): Promise<IncidentStatus> {
    await Promise.all(pendingPackets);
    const followUp = await closeThroughGroup();
    enter('report', text);
    await storeAllAlerts();
    status.report = await recording.writeReport({ status, temporal: { workflowId: info.workflowId, runId: info.runId } });
    // The report goes to the policy's webhooks too (only when some are configured).
    const rc = status.rootCause ?? status.inference?.rootCause;
    await notifyChain('report', `${status.outcome ?? 'closed'}; root cause ${rc?.service ?? 'unknown'}${status.inference ? ` (${(status.inference.confidence * 100).toFixed(0)}%)` : ''}; ${text}; report ${status.report.markdownPath}`);
    enter('closed', status.outcome ?? 'closed');
    // The alert group that opened this incident hears that it closed (new alerts then open a new one).
    if (input.aggregation) {
      const group = getExternalWorkflowHandle(input.aggregation.groupId);
      const closed = { incidentId: input.incidentId, outcome: status.outcome ?? 'closed' };
      // Follow-ups go in chunks: a storm's late alerts could outgrow one payload.
      const chunks = followUp.length > 0 ? Array.from({ length: Math.ceil(followUp.length / FOLLOW_UP_PER_SIGNAL) }, (_, i) => followUp.slice(i * FOLLOW_UP_PER_SIGNAL, (i + 1) * FOLLOW_UP_PER_SIGNAL)) : [[]];
      for (const chunk of chunks) await group.signal(incidentClosedSignal, { ...closed, ...(chunk.length > 0 ? { followUp: chunk } : {}) }).catch(() => undefined);
    }
    await condition(allHandlersFinished);
    return status;
  }

  /**
   * When the status lists only part of the alerts, the whole list goes to the evidence store
   * (in parts that each fit a payload) and the report references it; the report itself gets
   * the bounded status with the counts.
   */
  async function storeAllAlerts(): Promise<void> {
    const all = allAlerts();
    if (all.length <= STATUS_ALERTS_LIMIT || !patched(ALERTS_EVIDENCE_PATCH)) return;
    try {
      const parts: string[] = [];
      for (let i = 0; i < all.length; i += ALERTS_PER_EVIDENCE_PART) {
        const part = await recording.storeAlertsPart({ incidentId: input.incidentId, part: parts.length + 1, alerts: all.slice(i, i + ALERTS_PER_EVIDENCE_PART) });
        parts.push(part.ref);
      }
      status.alertsEvidence = await recording.joinAlertsParts({ incidentId: input.incidentId, parts });
      note(`${all.length} alerts: the status lists ${status.alerts.length}; all of them are in the evidence store (${status.alertsEvidence.ref})`);
    } catch (err) {
      note(`the whole alert list could not be stored (${failureMessage(err)}): the report lists ${status.alerts.length} of ${all.length}`);
    }
  }

  /**
   * With closeHoldSeconds: tells the alert group this incident is closing and waits until
   * the group has handed over every alert it told a sender went here. Returns the firing
   * alerts no diagnosis round saw (they arrived later): the group opens a follow-up for them.
   */
  async function closeThroughGroup(): Promise<Alert[]> {
    const hold = input.aggregation?.closeHoldSeconds;
    if (!input.aggregation || hold === undefined) return [];
    // Decisions are refused from here on: the pipeline has ended.
    enter('report', 'pipeline ended: the alert group hands over the alerts it promised to this incident before the report');
    const told = await getExternalWorkflowHandle(input.aggregation.groupId)
      .signal(incidentClosingSignal, { incidentId: input.incidentId })
      .then(() => true, () => false);
    if (!told) note(`alert group ${input.aggregation.groupId} unreachable: closing without its release`);
    else if (!(await condition(() => released !== undefined, hold * 1000))) note(`alert group ${input.aggregation.groupId} did not release the incident within ${hold}s: closing`);
    else if (released?.held) note(`closing: ${released.held}`);
    const late = allAlerts().filter((a) => a.status === 'firing' && !diagnosed.has(lifecycleOf(a)));
    if (late.length > 0) {
      note(`${late.length} alert(s) reached this incident after its diagnosis and still fire (${unique(late.map((a) => a.labels['alertname'] ?? a.fingerprint)).slice(0, 5).join(', ')}): handed back to the alert group for a follow-up incident`);
    }
    return late;
  }
}

function titleOf(alerts: Alert[]): string {
  const first = alerts[0];
  if (!first) return 'incident';
  const name = first.labels['alertname'] ?? 'alert';
  const svc = alertService(first);
  return `${name}${svc ? ` on ${svc}` : ''}${alerts.length > 1 ? ` (+${alerts.length - 1} more)` : ''}`;
}

/** An alert lifecycle: a fingerprint that fires again later is a new one. */
function lifecycleOf(a: Pick<Alert, 'fingerprint' | 'startsAt'>): string {
  return `${a.fingerprint}@${a.startsAt}`;
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
