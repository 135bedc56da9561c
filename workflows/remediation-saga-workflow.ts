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
 */
import { CancellationScope, isCancellation, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ServiceState } from '../src/schemas/capabilities.js';
import type { ActionRecord, PlanStep, RemediationPlan, SagaProgress, SagaResult, Verification } from '../src/schemas/incident.js';
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
  const actionPacket = (step: PlanStep, phase: 'do' | 'undo', key: string, before: ServiceState | undefined, outcome: { result?: ActionRecord['result']; error?: string }) =>
    evidencePacket(`${step.id}/${phase}`, {
      kind: phase === 'do' ? 'remediation-action' : 'compensation',
      planSummary: input.plan.summary,
      justification: phase === 'do' ? `${step.description}: step of runbook ${step.runbook ?? '?'} for the approved plan` : `undo of ${step.id} after ${progress.state === 'compensating' ? 'a failure' : 'a stop'}`,
      policy: { decidingRule: `actions.${step.action}.risk=${step.risk}`, outcome: 'executed under the approved plan' },
      action: {
        kind: step.action,
        target: step.service,
        stepId: step.id,
        idempotencyKey: key,
        parameters: { ...step.params },
        executed: outcome.error === undefined,
        downstream: outcome.error !== undefined ? { status: 'error', summary: outcome.error } : { status: outcome.result?.replayed ? 'ok (replayed: already done)' : 'ok', summary: outcome.result?.message ?? '' },
      },
      compensation: {
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
  const record = (step: PlanStep, phase: 'do' | 'undo', key: string, outcome: { result?: ActionRecord['result']; error?: string }) =>
    actions.push({
      stepId: step.id,
      action: step.action,
      service: step.service,
      phase,
      idempotencyKey: key,
      ok: outcome.error === undefined,
      ...(outcome.result ? { result: outcome.result } : {}),
      ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      at: nowIso(),
    });

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
    const remainingUndo = await compensateAll();
    progress.state = 'done';
    const undone = done.length - remainingUndo.length;
    const base = { actions, remainingUndo, ...(verification ? { verification } : {}), error: what };
    if (remainingUndo.length > 0) {
      return {
        ...base,
        outcome: 'failed-compensation-incomplete',
        summary: `${what}; ${undone} step(s) undone, ${remainingUndo.length} left for a person to undo: ${remainingUndo.map((s) => `${s.description} (undo: ${s.compensation})`).join('; ')}`,
      };
    }
    return { ...base, outcome: verification ? 'not-recovered-compensated' : 'failed-compensated', summary: `${what}; ${undone} completed step(s) undone in reverse order` };
  };

  const cancelled = (): SagaResult => {
    progress.state = 'done';
    const remainingUndo = done.map((d) => d.step);
    return {
      outcome: 'cancelled',
      actions,
      remainingUndo,
      summary: `a person took over: no further steps; ${done.length} step(s) done and left as they are${remainingUndo.length ? ` (to undo by hand: ${remainingUndo.map((s) => s.compensation).join('; ')})` : ''}`,
      error: 'cancelled',
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
      try {
        before = await local.captureServiceState({ incidentId: input.incidentId, service: step.service });
        const result = await acting.executeStep({ incidentId: input.incidentId, step, before, idempotencyKey: key });
        record(step, 'do', key, { result });
        await actionPacket(step, 'do', key, before, { result });
      } catch (err) {
        if (isCancellation(err)) throw err;
        record(step, 'do', key, { error: failureMessage(err) });
        await actionPacket(step, 'do', key, before, { error: failureMessage(err) });
        return await afterFailure(`step ${step.id} (${step.description}) failed: ${failureMessage(err)}`);
      }
      done.push({ step, before });
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
    return { outcome: 'completed', actions, remainingUndo: [], verification, summary: `${done.length} step(s) done; ${verification.summary}` };
  } catch (err) {
    if (isCancellation(err)) return cancelled();
    throw err;
  }
}
