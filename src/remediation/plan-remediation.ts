/**
 * Builds the remediation plan for a root cause from the runbook catalogue: the
 * highest-priority runbook that applies, its steps bound to the service with the risk
 * class the policy gives each action, and how each step is undone. The plan's digest
 * binds it to the evidence it rests on, so an approval of an older plan is refused.
 */
import type { ServiceState } from '../schemas/capabilities.js';
import type { PlanStep, RemediationPlan, RootCause } from '../schemas/incident.js';
import type { Policy } from '../schemas/policy.js';
import { canonicalJson, sha256 } from '../evidence/evidence-store.js';
import { runbookApplies, type Runbook } from '../knowledge/runbooks.js';

export function compensationFor(step: Pick<PlanStep, 'action' | 'service' | 'params'>): string {
  switch (step.action) {
    case 'restart':
      return 'nothing to undo: a restart changes no configuration';
    case 'scale':
      return `scale ${step.service} back to the replica count recorded before the step`;
    case 'rollback':
      return `roll ${step.service} forward to the release recorded before the step`;
    case 'set_flag':
      return `restore flag ${step.params.flag ?? '?'} of ${step.service} to its recorded value`;
  }
}

export function planRemediation(input: {
  rootCause: RootCause | null;
  runbooks: Runbook[];
  policy: Policy;
  recentDeploy: boolean;
  state: ServiceState | null;
  evidenceDigests: string[];
}): RemediationPlan {
  const { rootCause, policy } = input;
  const seal = (plan: Omit<RemediationPlan, 'digest'>): RemediationPlan => ({
    ...plan,
    digest: sha256(canonicalJson({ plan, evidence: input.evidenceDigests, policy: policy.version })),
  });
  if (!rootCause) return seal({ service: null, steps: [], summary: 'no root cause identified: no remediation proposed' });

  const runbook = [...input.runbooks]
    .sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1))
    .find((rb) => runbookApplies(rb, rootCause.service, rootCause.indicator, input.recentDeploy));
  if (!runbook) return seal({ service: rootCause.service, steps: [], summary: `no runbook applies to ${rootCause.service} (${rootCause.indicator ?? 'unknown indicator'}): hand over to a person` });

  const steps: PlanStep[] = runbook.steps.map((s, i) => {
    const params: PlanStep['params'] = {};
    if (s.action === 'scale') params.replicas = s.replicas ?? (input.state ? input.state.replicas + Math.max(1, Math.ceil(input.state.replicas / 2)) : 3);
    if (s.action === 'rollback' && input.state?.previousRelease) params.toRelease = input.state.previousRelease;
    if (s.action === 'set_flag') {
      if (s.flag) params.flag = s.flag;
      params.enabled = s.enabled ?? false;
    }
    const risk = policy.actions[s.action]?.risk ?? s.risk ?? 'high';
    const step = { id: `step-${i + 1}`, action: s.action, service: rootCause.service, description: `${s.description} (${rootCause.service})`, risk, params, runbook: runbook.id };
    return { ...step, compensation: compensationFor(step) };
  });
  return seal({
    service: rootCause.service,
    steps,
    summary: `${runbook.title}: ${steps.map((s) => `${s.action} ${s.service}${s.params.toRelease ? ` to ${s.params.toRelease}` : ''}${s.params.replicas ? ` to ${s.params.replicas} replicas` : ''}`).join(', then ')}`,
  });
}
