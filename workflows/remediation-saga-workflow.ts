/**
 * RemediationSagaWorkflow: runs an approved plan step by step. Before each step it records
 * the state the undo needs; after a step's effect is confirmed it registers the step's
 * compensation. Then it verifies recovery. A failed step or a failed verification runs
 * the compensations in reverse; a compensation that still fails is recorded and left
 * for a person (never swallowed). Every action carries an idempotency key derived from
 * the incident and the step, so retries, crashes and replays never act twice.
 */
import { CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ServiceState } from '../src/schemas/capabilities.js';
import type { ActionRecord, PlanStep, RemediationPlan, SagaResult, Verification } from '../src/schemas/incident.js';
import { action, compensation, readLocal } from './activity-profiles.js';
import { failureMessage } from './failure-message.js';

const acting = proxyActivities<Activities>(action);
const undoing = proxyActivities<Activities>(compensation);
const local = proxyActivities<Activities>(readLocal);

export interface RemediationSagaInput {
  incidentId: string;
  /** Prefix of every idempotency key: incident id + first run id. */
  keyPrefix: string;
  plan: RemediationPlan;
  verification: {
    windowSeconds: number;
    toleranceMads: number;
    baselineStart: number;
    baselineEnd: number;
    services: string[];
  };
}

interface Registered {
  step: PlanStep;
  before: ServiceState;
}

export async function RemediationSagaWorkflow(input: RemediationSagaInput): Promise<SagaResult> {
  const actions: ActionRecord[] = [];
  const done: Registered[] = [];
  const nowIso = () => new Date(Date.now()).toISOString();
  const verifying = proxyActivities<Activities>({
    startToCloseTimeout: `${input.verification.windowSeconds + 60}s`,
    heartbeatTimeout: '30s',
    retry: { maximumAttempts: 2 },
  });

  /** Undo what was done, newest first; returns the steps whose undo failed. */
  const compensateAll = async (): Promise<PlanStep[]> => {
    const left: PlanStep[] = [];
    for (const reg of [...done].reverse()) {
      const key = `${input.keyPrefix}:${reg.step.id}:undo`;
      try {
        const result = await CancellationScope.nonCancellable(() =>
          undoing.compensateStep({ incidentId: input.incidentId, step: reg.step, before: reg.before, idempotencyKey: key }),
        );
        actions.push({ stepId: reg.step.id, action: reg.step.action, service: reg.step.service, phase: 'undo', idempotencyKey: key, ok: true, result, at: nowIso() });
      } catch (err) {
        actions.push({ stepId: reg.step.id, action: reg.step.action, service: reg.step.service, phase: 'undo', idempotencyKey: key, ok: false, error: failureMessage(err), at: nowIso() });
        left.push(reg.step);
      }
    }
    return left;
  };

  const afterFailure = async (what: string, verification?: Verification, cancelled = false): Promise<SagaResult> => {
    const remainingUndo = await compensateAll();
    const undone = done.length - remainingUndo.length;
    const base = {
      actions,
      remainingUndo,
      ...(verification ? { verification } : {}),
    };
    if (remainingUndo.length > 0) {
      return {
        ...base,
        outcome: 'failed-compensation-incomplete',
        summary: `${what}; ${undone} step(s) undone, ${remainingUndo.length} left for a person to undo: ${remainingUndo.map((s) => s.description).join('; ')}`,
        error: what,
      };
    }
    return {
      ...base,
      outcome: cancelled ? 'cancelled' : verification ? 'not-recovered-compensated' : 'failed-compensated',
      summary: `${what}; ${undone} completed step(s) undone in reverse order`,
      error: what,
    };
  };

  for (const step of input.plan.steps) {
    const key = `${input.keyPrefix}:${step.id}:do`;
    let before: ServiceState;
    try {
      before = await local.captureServiceState({ incidentId: input.incidentId, service: step.service });
      const result = await acting.executeStep({ incidentId: input.incidentId, step, before, idempotencyKey: key });
      actions.push({ stepId: step.id, action: step.action, service: step.service, phase: 'do', idempotencyKey: key, ok: true, result, at: nowIso() });
    } catch (err) {
      actions.push({ stepId: step.id, action: step.action, service: step.service, phase: 'do', idempotencyKey: key, ok: false, error: failureMessage(err), at: nowIso() });
      if (isCancellation(err)) return afterFailure('cancelled: a person took over', undefined, true);
      return afterFailure(`step ${step.id} (${step.description}) failed: ${failureMessage(err)}`);
    }
    done.push({ step, before });
  }

  const verification = await verifying.verifyRecovery({
    incidentId: input.incidentId,
    services: input.verification.services,
    baselineStart: input.verification.baselineStart,
    baselineEnd: input.verification.baselineEnd,
    windowSeconds: input.verification.windowSeconds,
    toleranceMads: input.verification.toleranceMads,
  });
  if (!verification.recovered) return afterFailure(`not recovered: ${verification.summary}`, verification);
  return { outcome: 'completed', actions, remainingUndo: [], verification, summary: `${done.length} step(s) done; ${verification.summary}` };
}
