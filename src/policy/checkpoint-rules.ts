/**
 * The policy's rules for the checkpoint, as pure functions the workflow runs: which
 * autonomy level applies to a step, which steps need a person, whether the incident
 * must wait, and whether a decision may be taken (identity, role, binding digest).
 * Pure and deterministic: safe in workflow code.
 */
import { verifyApproverToken } from '../identity/approver-token.js';
import type { Severity } from '../schemas/alert.js';
import type { CheckpointState, Decision, PlanStep, RemediationPlan } from '../schemas/incident.js';
import type { AutonomyLevel, Policy, RiskClass } from '../schemas/policy.js';

const RISK_ORDER: RiskClass[] = ['low', 'medium', 'high', 'critical'];
const riskAtMost = (r: RiskClass, max: RiskClass) => RISK_ORDER.indexOf(r) <= RISK_ORDER.indexOf(max);

/** Most specific rule wins: rule matching more of service/environment/action, then service, environment, default. */
export function autonomyFor(policy: Policy, service: string, environment: string | undefined, action?: PlanStep['action']): AutonomyLevel {
  const a = policy.autonomy;
  let best: { level: AutonomyLevel; specificity: number } | undefined;
  for (const r of a.rules) {
    if (r.service !== undefined && r.service !== service) continue;
    if (r.environment !== undefined && r.environment !== environment) continue;
    if (r.action !== undefined && r.action !== action) continue;
    const specificity = (r.service ? 4 : 0) + (r.environment ? 2 : 0) + (r.action ? 1 : 0);
    if (!best || specificity > best.specificity) best = { level: r.level, specificity };
  }
  if (best) return best.level;
  return a.services[service] ?? (environment ? a.environments[environment] : undefined) ?? a.default;
}

/**
 * Whether the policy marks an action that cannot be undone as irreversible-but-approved
 * for this service and environment: the most specific matching rule decides (service,
 * then environment); none matching = not approved. Returns the deciding rule in words.
 */
export function irreversibleMark(
  policy: Policy,
  service: string,
  environment: string | undefined,
  action: PlanStep['action'],
): { approved: boolean; rule: string; reason?: string } {
  let best: { rule: Policy['irreversible'][number]; index: number; specificity: number } | undefined;
  (policy.irreversible ?? []).forEach((r, index) => {
    if (r.action !== action) return;
    if (r.service !== undefined && r.service !== service) return;
    if (r.environment !== undefined && r.environment !== environment) return;
    const specificity = (r.service ? 2 : 0) + (r.environment ? 1 : 0);
    if (!best || specificity > best.specificity) best = { rule: r, index, specificity };
  });
  if (!best) return { approved: false, rule: `no irreversible rule for ${action}${environment ? ` in ${environment}` : ''} of ${service}` };
  const { rule, index } = best;
  const where = [rule.service ? `service ${rule.service}` : '', rule.environment ? `environment ${rule.environment}` : ''].filter(Boolean).join(', ') || 'any service';
  return { approved: rule.approved, rule: `irreversible[${index}] (${action}, ${where}, approved: ${rule.approved})`, ...(rule.reason ? { reason: rule.reason } : {}) };
}

/** Whether a step runs in two phases: the policy's risk class for its action or the runbook's is one of remediation.twoPhaseRisk. */
export function runsInTwoPhases(policy: Policy, risks: (RiskClass | undefined)[]): boolean {
  const twoPhase = policy.remediation.twoPhaseRisk ?? ['high', 'critical'];
  return risks.some((r) => r !== undefined && twoPhase.includes(r));
}

/** Why a step needs a person under its autonomy level; undefined when it may run on its own. */
export function stepNeedsPerson(policy: Policy, step: PlanStep, level: AutonomyLevel): string | undefined {
  // No autonomy level, sample or confidence lets a step without an undo run on its own.
  if (step.irreversible) return `${step.action} ${step.service} cannot be undone (${step.irreversible.why}): allowed by ${step.irreversible.rule}, always with a person's approval`;
  if (policy.checkpoint.approvalRisk.includes(step.risk)) return `${step.action} ${step.service} is ${step.risk} risk`;
  switch (level) {
    case 'shadow':
      return `${step.service} is in shadow mode`;
    case 'assisted':
      return step.risk === 'low' ? undefined : `assisted autonomy runs only low-risk steps on its own (${step.action} is ${step.risk})`;
    case 'partial':
      if (!policy.autonomy.limits.actions.includes(step.action)) return `partial autonomy does not include ${step.action}`;
      return riskAtMost(step.risk, policy.autonomy.limits.maxRisk) ? undefined : `partial autonomy is limited to ${policy.autonomy.limits.maxRisk} risk`;
    case 'bounded':
      if (!riskAtMost(step.risk, policy.autonomy.limits.maxRisk)) return `bounded autonomy is limited to ${policy.autonomy.limits.maxRisk} risk`;
      return /nothing to undo/.test(step.compensation) && step.action !== 'restart' ? 'bounded autonomy needs a guaranteed undo' : undefined;
  }
}

export function checkpointFor(input: {
  policy: Policy;
  severity: Severity;
  plan: RemediationPlan;
  environment: string | undefined;
  uncertain: boolean;
  sampled: boolean;
}): CheckpointState {
  const { policy, severity, plan } = input;
  const reasons: string[] = [];
  if (policy.checkpoint.alwaysFor.includes(severity)) reasons.push(`${severity} incidents always need a person`);
  if (input.uncertain) reasons.push(`root-cause confidence below ${policy.checkpoint.confidenceThreshold}: uncertain, a person must confirm or correct it`);
  const stepsNeedingApproval: string[] = [];
  for (const step of plan.steps) {
    const why = stepNeedsPerson(policy, step, autonomyFor(policy, step.service, input.environment, step.action));
    if (why) stepsNeedingApproval.push(`${step.id}: ${why}`);
  }
  if (stepsNeedingApproval.length) reasons.push(`approval needed for ${stepsNeedingApproval.join('; ')}`);
  if (reasons.length === 0 && input.sampled) reasons.push(`sampled for review (${policy.checkpoint.sampleRate * 100}% of incidents)`);
  return {
    required: reasons.length > 0,
    reasons,
    allowedRoles: policy.checkpoint.approverRoles[severity] ?? ['incident-commander'],
    uncertain: input.uncertain,
    escalationLevel: 0,
    stepsNeedingApproval,
  };
}

export type Authorization = { identity: string; role: string; verifiedBy: 'token' | 'allow-list' } | { refusal: string; identity: string; role?: string };

/** Who is deciding: a verified token, or an allow-listed trusted sender when the policy permits. */
export function identify(d: Decision, policy: Policy, nowSeconds: number): Authorization {
  if (d.token) {
    const check = verifyApproverToken(d.token, policy.identity.tokenKeys, nowSeconds);
    if (!check.ok) return { refusal: `token refused: ${check.reason}`, identity: d.actor };
    if (check.payload.sub !== d.actor) return { refusal: `token is for ${check.payload.sub}, not ${d.actor}`, identity: d.actor };
    return { identity: check.payload.sub, role: check.payload.role, verifiedBy: 'token' };
  }
  const listed = policy.approvers.find((a) => a.id === d.actor);
  if (!listed) return { refusal: `${d.actor} is not an approver in policy ${policy.version}`, identity: d.actor };
  if (!policy.identity.allowUnsigned) return { refusal: `policy ${policy.version} requires a signed token`, identity: d.actor, role: listed.role };
  return { identity: listed.id, role: listed.role, verifiedBy: 'allow-list' };
}

/** Decides whether a decision may be taken now; returns the authorization or the refusal. */
export function authorizeDecision(
  d: Decision,
  ctx: { policy: Policy; nowSeconds: number; checkpoint: CheckpointState | null; waiting: boolean; severity: Severity; knownServices: Set<string> },
): Authorization {
  const who = identify(d, ctx.policy, ctx.nowSeconds);
  if ('refusal' in who) return who;
  if (d.kind !== 'takeover' && (!ctx.waiting || !ctx.checkpoint)) return { refusal: 'the incident is not waiting for a decision', identity: who.identity, role: who.role };
  const mayApprove = ctx.checkpoint?.allowedRoles.includes(who.role) ?? false;
  if ((d.kind === 'approve' || d.kind === 'override') && !mayApprove) {
    return { refusal: `${who.identity} has role ${who.role}; a ${ctx.severity} incident needs one of: ${ctx.checkpoint?.allowedRoles.join(', ') ?? '?'}`, identity: who.identity, role: who.role };
  }
  if (d.kind === 'approve' && d.planDigest !== ctx.checkpoint?.bindingDigest) {
    return { refusal: 'the plan or evidence changed since it was shown (new alerts or re-diagnosis): review the current plan and approve again', identity: who.identity, role: who.role };
  }
  if (d.kind === 'override') {
    if (!d.rootCauseService) return { refusal: 'override needs rootCauseService', identity: who.identity, role: who.role };
    if (ctx.knownServices.size > 0 && !ctx.knownServices.has(d.rootCauseService)) {
      return { refusal: `unknown service ${d.rootCauseService}: not in the topology or the candidates`, identity: who.identity, role: who.role };
    }
  }
  return who;
}
