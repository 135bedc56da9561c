/**
 * Builds the remediation plan for a root cause from the runbook catalogue: the
 * highest-priority runbook that applies, its steps bound to the service with the risk
 * class the policy gives each action, and how each step is undone. A step the runbook
 * declares irreversible stays in the plan only where the policy marks its action
 * irreversible-but-approved for the service and environment; otherwise it is left out
 * and the plan says why. High-risk steps are marked to run in two phases. The plan's
 * digest binds it to the evidence it rests on, so an approval of an older plan is refused.
 */
import type { ServiceState } from '../schemas/capabilities.js';
import type { ExcludedStep, PlanStep, RemediationPlan, RootCause } from '../schemas/incident.js';
import type { Policy } from '../schemas/policy.js';
import { canonicalJson, sha256 } from '../evidence/evidence-store.js';
import { runbookApplies, type Runbook } from '../knowledge/runbooks.js';
import { irreversibleMark, runsInTwoPhases } from '../policy/checkpoint-rules.js';

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
  /** The incident's environment (alert label env/environment), for the policy's irreversible rules. */
  environment?: string | undefined;
  /** Whether the tools can prepare, commit and abort; without them high-risk steps run in one phase (and the plan says so). */
  twoPhaseSupported?: boolean;
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

  const service = rootCause.service;
  const steps: PlanStep[] = [];
  const excluded: ExcludedStep[] = [];
  let singlePhase = false;
  for (const s of runbook.steps) {
    const description = `${s.description} (${service})`;
    if (s.irreversible) {
      const mark = irreversibleMark(policy, service, input.environment, s.action);
      if (!mark.approved) {
        excluded.push({
          action: s.action,
          service,
          description,
          reason: `it cannot be undone (${s.irreversible}) and policy ${policy.version} does not mark ${s.action} of ${service}${input.environment ? ` in ${input.environment}` : ''} as irreversible-but-approved (${mark.rule})`,
        });
        continue;
      }
    }
    const params: PlanStep['params'] = {};
    if (s.action === 'scale') params.replicas = s.replicas ?? (input.state ? input.state.replicas + Math.max(1, Math.ceil(input.state.replicas / 2)) : 3);
    if (s.action === 'rollback' && input.state?.previousRelease) params.toRelease = input.state.previousRelease;
    if (s.action === 'set_flag') {
      if (s.flag) params.flag = s.flag;
      params.enabled = s.enabled ?? false;
    }
    const policyRisk = policy.actions[s.action]?.risk;
    const risk = policyRisk ?? s.risk ?? 'high';
    const step: PlanStep = { id: `step-${steps.length + 1}`, action: s.action, service, description, risk, params, runbook: runbook.id, compensation: '' };
    if (runsInTwoPhases(policy, [risk, s.risk])) {
      if (input.twoPhaseSupported === false) singlePhase = true;
      else step.twoPhase = true;
    }
    if (s.irreversible) {
      const mark = irreversibleMark(policy, service, input.environment, s.action);
      step.irreversible = { why: s.irreversible, rule: `${mark.rule}${mark.reason ? `: ${mark.reason}` : ''}` };
      step.compensation = `none: ${s.irreversible}; it cannot be undone`;
    } else step.compensation = compensationFor(step);
    steps.push(step);
  }
  const leftOut =
    (excluded.length ? `; left out: ${excluded.map((e) => `${e.action} ${e.service}, because ${e.reason}`).join('; ')}` : '') +
    (singlePhase ? '; high-risk steps run in one phase: the tool registry binds no remediation.prepare/commit/abort' : '');
  const base = { service, steps, ...(excluded.length ? { excluded } : {}) };
  if (steps.length === 0) return seal({ ...base, summary: `${runbook.title}: no step can run${leftOut}: hand over to a person` });
  return seal({
    ...base,
    summary: `${runbook.title}: ${steps.map((s) => `${s.action} ${s.service}${s.params.toRelease ? ` to ${s.params.toRelease}` : ''}${s.params.replicas ? ` to ${s.params.replicas} replicas` : ''}${s.irreversible ? ' (cannot be undone)' : ''}`).join(', then ')}${leftOut}`,
  });
}
