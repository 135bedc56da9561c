/**
 * RemediationSagaWorkflow: runs an approved plan step by step. Before each step it waits
 * while the kill switch is on, and records the state the undo needs; after a step's
 * effect is confirmed it registers the step's compensation. Then it verifies recovery.
 * A failed step or a failed verification runs the compensations in reverse; a
 * compensation that still fails is recorded and left for a person (never swallowed).
 * A cancellation (a person took over) stops new steps and undoes nothing: the person
 * gets the list of what was done and how to undo it. Every action carries an idempotency
 * key derived from the incident and the step, so retries, crashes and replays never act
 * twice.
 *
 * High-risk (two-phase) steps commit a prepared action: the one prepared before the
 * checkpoint (what the person approved), or one prepared here when no person had to
 * decide. A prepared action that expired is not committed; prepared actions the saga
 * does not commit (a failure, a takeover) are released and the release is recorded.
 * A step without an undo (irreversible-but-approved) registers no compensation.
 */
import { CancellationScope, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ServiceState } from '../src/schemas/capabilities.js';
import type { ActionRecord, PlanStep, PreparedRelease, PreparedStep, RemediationPlan, SagaProgress, SagaResult, Verification } from '../src/schemas/incident.js';
import { actionProfile, compensationProfile, readLocal, type RemediationTiming } from './activity-profiles.js';
import { failureMessage } from './failure-message.js';
import { createEvidenceRecorder } from './evidence-recorder.js';
import { sagaStatusQuery } from './messages.js';

const local = proxyActivities<Activities>(readLocal);

export interface RemediationSagaInput {
  incidentId: string;
  /** Prefix of every idempotency key: incident id + first run id. */
  keyPrefix: string;
  plan: RemediationPlan;
  policyVersion: string;
  agent: { promptVersion: string; model: string };
  /** Action timeouts and retries (policy `remediation`). */
  timing?: RemediationTiming;
  /** How often to look at the kill switch again while it is on. */
  killSwitchPollSeconds: number;
  /** Two-phase steps prepared before the checkpoint (the approval bound to them). */
  prepared?: PreparedStep[];
  /** How long a step prepared by the saga itself is held (policy remediation.prepareTtlSeconds). */
  prepareTtlSeconds?: number;
  verification: {
    windowSeconds: number;
    toleranceMads: number;
    baselineStart: number;
    baselineEnd: number;
    services: string[];
  };
}

const DEFAULT_TIMING: RemediationTiming = {
  actionTimeoutSeconds: 60,
  actionRetry: { initialIntervalSeconds: 2, maximumAttempts: 4 },
  compensationRetry: { initialIntervalSeconds: 2, maximumAttempts: 6 },
};

interface Registered {
  step: PlanStep;
  before: ServiceState;
}

export async function RemediationSagaWorkflow(input: RemediationSagaInput): Promise<SagaResult> {
  const timing = input.timing ?? DEFAULT_TIMING; // absent in inputs recorded before the policy carried it
  const acting = proxyActivities<Activities>(actionProfile(timing));
  const undoing = proxyActivities<Activities>(compensationProfile(timing));
  const done: Registered[] = [];
  const progress: SagaProgress = { state: 'running', currentStep: null, pausedReason: null, actions: [], notes: [] };
  const actions: ActionRecord[] = progress.actions;
  setHandler(sagaStatusQuery, () => progress);
  const evidencePacket = createEvidenceRecorder({
    incidentId: input.incidentId,
    policyVersion: () => input.policyVersion,
    agent: () => input.agent,
    onFailure: (m) => progress.notes.push(m),
  });
  /** The evidence of one action or undo: what was done, why, the response, and how to undo it. */
  const actionPacket = (
    step: PlanStep,
    phase: 'do' | 'undo',
    key: string,
    before: ServiceState | undefined,
    outcome: { result?: ActionRecord['result']; error?: string },
    prepared?: PreparedStep,
  ) =>
    evidencePacket(`${step.id}/${phase}`, {
      kind: phase === 'do' ? 'remediation-action' : 'compensation',
      planSummary: input.plan.summary,
      justification:
        phase === 'do'
          ? `${step.description}: step of runbook ${step.runbook ?? '?'} for the approved plan${prepared ? ` (commit of prepared ${prepared.handle}: ${prepared.summary})` : ''}${step.irreversible ? `; it cannot be undone (${step.irreversible.why})` : ''}`
          : `undo of ${step.id} after ${progress.state === 'compensating' ? 'a failure' : 'a stop'}`,
      policy: step.irreversible
        ? { decidingRule: step.irreversible.rule, outcome: 'executed without an undo: irreversible-but-approved, approved by a person' }
        : { decidingRule: `actions.${step.action}.risk=${step.risk}`, outcome: 'executed under the approved plan' },
      action: {
        kind: step.action,
        target: step.service,
        stepId: step.id,
        idempotencyKey: key,
        parameters: { ...step.params, ...(prepared ? { preparedHandle: prepared.handle } : {}) },
        executed: outcome.error === undefined,
        downstream: outcome.error !== undefined ? { status: 'error', summary: outcome.error } : { status: outcome.result?.replayed ? 'ok (replayed: already done)' : 'ok', summary: outcome.result?.message ?? '' },
      },
      compensation: step.irreversible
        ? { ref: 'none', description: `no undo: ${step.compensation}`, irreversible: true, ...(before ? { state: { release: before.release, replicas: before.replicas, flags: before.flags } } : {}) }
        : {
            ref: `${input.keyPrefix}:${step.id}:undo`,
            description: step.compensation,
            ...(before ? { state: { release: before.release, replicas: before.replicas, flags: before.flags } } : {}),
          },
      actor: { type: 'agent', id: 'vigil-saga' },
    });
  const nowIso = () => new Date(Date.now()).toISOString();
  const verifying = proxyActivities<Activities>({
    startToCloseTimeout: `${input.verification.windowSeconds + 60}s`,
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 2 },
  });
  const record = (step: PlanStep, phase: 'do' | 'undo', key: string, outcome: { result?: ActionRecord['result']; error?: string }, preparedHandle?: string) =>
    actions.push({
      stepId: step.id,
      action: step.action,
      service: step.service,
      phase,
      idempotencyKey: key,
      ok: outcome.error === undefined,
      ...(outcome.result ? { result: outcome.result } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      ...(preparedHandle ? { preparedHandle } : {}),
      at: nowIso(),
    });

  // ---- prepared (two-phase) steps ----
  /** Prepared and not committed yet: released if the saga ends without committing them. */
  const open = new Map<string, PreparedStep>((input.prepared ?? []).map((p) => [p.stepId, p]));
  const released: PreparedRelease[] = [];
  /** Releases every prepared step not committed, and records each release. */
  const releaseOpen = async (reason: string): Promise<void> => {
    if (open.size === 0) return;
    const list = [...open.values()];
    open.clear();
    let results: PreparedRelease[];
    try {
      results = await CancellationScope.nonCancellable(() => undoing.abortPrepared({ incidentId: input.incidentId, prepared: list, reason, stage: 'remediation' }));
    } catch (err) {
      results = list.map((p) => ({ stepId: p.stepId, handle: p.handle, status: 'failed', reason, expiresAt: p.expiresAt, error: failureMessage(err), at: nowIso() }));
    }
    for (const r of results) {
      released.push(r);
      progress.notes.push(`${r.at} prepared ${r.stepId} (${r.handle}) not committed: ${r.status}${r.error ? ` (${r.error}; it lapses at ${new Date(r.expiresAt * 1000).toISOString()})` : ''}: ${reason}`);
      await CancellationScope.nonCancellable(() =>
        evidencePacket(`${r.stepId}/release`, {
          kind: 'prepare-release',
          planSummary: input.plan.summary,
          justification: `prepared ${r.stepId} released without a commit: ${reason}`,
          action: { kind: 'abort', target: r.handle, stepId: r.stepId, parameters: { reason }, executed: r.status !== 'failed', downstream: { status: r.status, ...(r.error ? { summary: r.error } : {}) } },
          actor: { type: 'agent', id: 'vigil-saga' },
        }),
      );
    }
  };
  /** The prepared action of a two-phase step: the approved one, or prepared now (no person had to decide). */
  const preparedFor = async (step: PlanStep): Promise<PreparedStep> => {
    const approved = open.get(step.id);
    if (approved) return approved;
    const key = `${input.keyPrefix}:${step.id}:prepare`;
    const { prepared } = await acting.prepareSteps({ incidentId: input.incidentId, steps: [step], keys: { [step.id]: key }, ttlSeconds: input.prepareTtlSeconds ?? 3600, stage: 'remediation' });
    const p = prepared[0];
    if (!p) throw new Error(`prepare of ${step.id} returned nothing`);
    open.set(step.id, p);
    await evidencePacket(`${step.id}/prepare`, {
      kind: 'remediation-prepare',
      planSummary: input.plan.summary,
      justification: `${step.description} is ${step.risk} risk: prepared (validated and staged) before its commit: ${p.summary}`,
      policy: { decidingRule: `remediation.twoPhaseRisk includes ${step.risk}`, outcome: 'prepared; commit follows' },
      action: { kind: step.action, target: step.service, stepId: step.id, idempotencyKey: key, parameters: { ...p.parameters, handle: p.handle, expiresAt: p.expiresAt }, executed: false, downstream: { status: p.status, summary: p.summary } },
      actor: { type: 'agent', id: 'vigil-saga' },
    });
    return p;
  };
  const irreversibleDone: PlanStep[] = [];
  const irreversibleNote = () => (irreversibleDone.length ? `; ${irreversibleDone.map((s) => `${s.id} (${s.description})`).join(', ')} cannot be undone and stays as it is` : '');

  /** Undo what was done, newest first; returns the steps whose undo failed. */
  const compensateAll = async (): Promise<PlanStep[]> => {
    progress.state = 'compensating';
    const left: PlanStep[] = [];
    for (const reg of [...done].reverse()) {
      const key = `${input.keyPrefix}:${reg.step.id}:undo`;
      try {
        const result = await CancellationScope.nonCancellable(() =>
          undoing.compensateStep({ incidentId: input.incidentId, step: reg.step, before: reg.before, idempotencyKey: key }),
        );
        record(reg.step, 'undo', key, { result });
        await actionPacket(reg.step, 'undo', key, reg.before, { result });
      } catch (err) {
        record(reg.step, 'undo', key, { error: failureMessage(err) });
        await actionPacket(reg.step, 'undo', key, reg.before, { error: failureMessage(err) });
        left.push(reg.step);
      }
    }
    return left;
  };

  const afterFailure = async (what: string, verification?: Verification): Promise<SagaResult> => {
    await releaseOpen(`not committed: ${what}`);
    const remainingUndo = await compensateAll();
    progress.state = 'done';
    const undone = done.length - remainingUndo.length;
    const base = { actions, remainingUndo, ...(verification ? { verification } : {}), error: what, ...(released.length ? { released } : {}) };
    if (remainingUndo.length > 0) {
      return {
        ...base,
        outcome: 'failed-compensation-incomplete',
        summary: `${what}; ${undone} step(s) undone, ${remainingUndo.length} left for a person to undo: ${remainingUndo.map((s) => `${s.description} (undo: ${s.compensation})`).join('; ')}${irreversibleNote()}`,
      };
    }
    return { ...base, outcome: verification ? 'not-recovered-compensated' : 'failed-compensated', summary: `${what}; ${undone} completed step(s) undone in reverse order${irreversibleNote()}` };
  };

  const cancelled = async (): Promise<SagaResult> => {
    await releaseOpen('a person took over');
    progress.state = 'done';
    const remainingUndo = done.map((d) => d.step);
    return {
      outcome: 'cancelled',
      actions,
      remainingUndo,
      summary: `a person took over: no further steps; ${done.length + irreversibleDone.length} step(s) done and left as they are${remainingUndo.length ? ` (to undo by hand: ${remainingUndo.map((s) => s.compensation).join('; ')})` : ''}${irreversibleNote()}`,
      error: 'cancelled',
      ...(released.length ? { released } : {}),
    };
  };

  try {
    for (const step of input.plan.steps) {
      progress.currentStep = step.id;
      // The kill switch: wait, as in shadow mode, until autonomous action is resumed.
      for (let switchState = await local.killSwitchState({ service: step.service }); switchState.paused; switchState = await local.killSwitchState({ service: step.service })) {
        if (progress.state !== 'paused') progress.notes.push(`${nowIso()} paused before ${step.id} by the kill switch: ${switchState.reason}`);
        progress.state = 'paused';
        progress.pausedReason = switchState.reason;
        await sleep(input.killSwitchPollSeconds * 1000);
      }
      if (progress.state === 'paused') progress.notes.push(`${nowIso()} kill switch released; continuing with ${step.id}`);
      progress.state = 'running';
      progress.pausedReason = null;

      const key = `${input.keyPrefix}:${step.id}:do`;
      let before: ServiceState | undefined;
      let prepared: PreparedStep | undefined;
      try {
        before = await local.captureServiceState({ incidentId: input.incidentId, service: step.service });
        let result: ActionRecord['result'];
        if (step.twoPhase) {
          prepared = await preparedFor(step);
          if (Date.now() / 1000 >= prepared.expiresAt) {
            throw new Error(`prepared ${prepared.handle} expired at ${new Date(prepared.expiresAt * 1000).toISOString()} before its commit: not committed`);
          }
          result = await acting.commitPrepared({ incidentId: input.incidentId, step, handle: prepared.handle, idempotencyKey: key });
          open.delete(step.id);
        } else {
          result = await acting.executeStep({ incidentId: input.incidentId, step, before, idempotencyKey: key });
        }
        record(step, 'do', key, { result }, prepared?.handle);
        await actionPacket(step, 'do', key, before, { result }, prepared);
      } catch (err) {
        if (isCancellation(err)) throw err;
        record(step, 'do', key, { error: failureMessage(err) }, prepared?.handle);
        await actionPacket(step, 'do', key, before, { error: failureMessage(err) }, prepared);
        return await afterFailure(`step ${step.id} (${step.description}) failed: ${failureMessage(err)}`);
      }
      if (step.irreversible) irreversibleDone.push(step);
      else done.push({ step, before });
    }

    progress.state = 'verifying';
    progress.currentStep = null;
    const verification = await verifying.verifyRecovery({
      incidentId: input.incidentId,
      services: input.verification.services,
      baselineStart: input.verification.baselineStart,
      baselineEnd: input.verification.baselineEnd,
      windowSeconds: input.verification.windowSeconds,
      toleranceMads: input.verification.toleranceMads,
    });
    await evidencePacket('verification', {
      kind: 'verification',
      planSummary: input.plan.summary,
      justification: verification.summary,
      policy: { decidingRule: `verification.windowSeconds=${input.verification.windowSeconds}, toleranceMads=${input.verification.toleranceMads}`, outcome: verification.recovered ? 'recovered' : 'not recovered: compensate' },
      actor: { type: 'agent', id: 'vigil-saga' },
      details: { checks: verification.checks },
    });
    if (!verification.recovered) return await afterFailure(`not recovered: ${verification.summary}`, verification);
    progress.state = 'done';
    return { outcome: 'completed', actions, remainingUndo: [], verification, summary: `${done.length + irreversibleDone.length} step(s) done; ${verification.summary}` };
  } catch (err) {
    if (isCancellation(err)) return await cancelled();
    await releaseOpen(`the saga ended abnormally: ${failureMessage(err)}`);
    throw err;
  }
}
