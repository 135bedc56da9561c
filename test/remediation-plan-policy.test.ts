/**
 * The pure rules behind two-phase and irreversible steps: which runbook steps enter a
 * plan (a step without an undo only with the policy's irreversible-but-approved mark,
 * most specific rule first), which run in two phases, and that a step without an undo
 * always needs a person whatever the autonomy, sample or confidence.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { DEFAULT_POLICY_FILE } from '../src/config.js';
import type { Runbook } from '../src/knowledge/runbooks.js';
import { checkpointFor, irreversibleMark, runsInTwoPhases, stepNeedsPerson } from '../src/policy/checkpoint-rules.js';
import { planRemediation } from '../src/remediation/plan-remediation.js';
import type { ServiceState } from '../src/schemas/capabilities.js';
import type { RunbookStep } from '../src/schemas/incident.js';
import { Policy } from '../src/schemas/policy.js';

const basePolicy = (change: (p: Policy) => void = () => undefined): Policy => {
  const p = Policy.parse(parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')));
  change(p);
  return Policy.parse(p);
};

const STATE: ServiceState = { service: 'payment', replicas: 3, release: 'payment@2.0.0', previousRelease: 'payment@1.9.0', flags: { 'retry-on-decline': true }, restarts: 0 };

const runbook = (steps: RunbookStep[]): Runbook => ({ id: 'rb', title: 'Test runbook', services: ['*'], symptoms: [], when: {}, priority: 1, steps, path: 'rb.md', body: '' });

const MIGRATING_FLAG: RunbookStep = {
  action: 'set_flag',
  description: 'Switch to the v2 ledger format',
  flag: 'retry-on-decline',
  enabled: false,
  irreversible: 'the ledger is rewritten in the new format',
};
const RESTART: RunbookStep = { action: 'restart', description: 'Restart' };

const plan = (policy: Policy, steps: RunbookStep[], environment?: string) =>
  planRemediation({ rootCause: { service: 'payment' }, runbooks: [runbook(steps)], policy, recentDeploy: false, state: STATE, evidenceDigests: [], environment });

void test('a step without an undo and without a policy mark is left out, and the plan says why', () => {
  const p = plan(basePolicy(), [MIGRATING_FLAG, RESTART], 'prod');
  assert.deepEqual(p.steps.map((s) => [s.id, s.action]), [['step-1', 'restart']], 'only the undoable step remains, renumbered');
  assert.equal(p.excluded?.length, 1);
  assert.equal(p.excluded?.[0]?.action, 'set_flag');
  assert.match(p.excluded?.[0]?.reason ?? '', /cannot be undone \(the ledger is rewritten in the new format\)/);
  assert.match(p.excluded?.[0]?.reason ?? '', /does not mark set_flag of payment in prod as irreversible-but-approved/);
  assert.match(p.summary, /left out: set_flag payment, because it cannot be undone/);
});

void test('when every step is left out the plan is empty and its summary explains', () => {
  const p = plan(basePolicy(), [MIGRATING_FLAG], 'prod');
  assert.equal(p.steps.length, 0);
  assert.match(p.summary, /no step can run; left out: set_flag payment.*hand over to a person/);
});

void test('with the mark the step stays, says it has no undo and names the rule', () => {
  const policy = basePolicy((pol) => {
    pol.irreversible = [{ action: 'set_flag', service: 'payment', approved: true, reason: 'finance signed off the migration' }];
  });
  const p = plan(policy, [MIGRATING_FLAG, RESTART], 'prod');
  assert.deepEqual(p.steps.map((s) => s.action), ['set_flag', 'restart']);
  const step = p.steps[0];
  assert.ok(step?.irreversible);
  assert.equal(step.irreversible.why, 'the ledger is rewritten in the new format');
  assert.match(step.irreversible.rule, /irreversible\[0\] \(set_flag, service payment, approved: true\): finance signed off/);
  assert.match(step.compensation, /^none: .*cannot be undone/);
  assert.equal(p.excluded, undefined);
  assert.match(p.summary, /set_flag payment \(cannot be undone\)/);
});

void test('the most specific irreversible rule wins: a narrower rule can withdraw a broad mark, and vice versa', () => {
  const policy = basePolicy((pol) => {
    pol.irreversible = [
      { action: 'set_flag', approved: true },
      { action: 'set_flag', environment: 'prod', approved: false },
      { action: 'set_flag', service: 'payment', environment: 'prod', approved: true },
      { action: 'set_flag', service: 'cart', approved: false },
    ];
  });
  assert.equal(irreversibleMark(policy, 'search', 'staging', 'set_flag').approved, true, 'the broad rule');
  assert.equal(irreversibleMark(policy, 'search', 'prod', 'set_flag').approved, false, 'environment beats the broad rule');
  assert.equal(irreversibleMark(policy, 'payment', 'prod', 'set_flag').approved, true, 'service+environment beats environment');
  assert.equal(irreversibleMark(policy, 'cart', 'staging', 'set_flag').approved, false, 'service beats the broad rule');
  assert.equal(irreversibleMark(policy, 'cart', 'prod', 'set_flag').approved, false, 'service beats environment');
  assert.equal(irreversibleMark(policy, 'payment', 'prod', 'rollback').approved, false, 'a rule marks only its action');
  assert.match(irreversibleMark(basePolicy(), 'payment', undefined, 'rollback').rule, /no irreversible rule for rollback of payment/);
  // The plan follows the same rules.
  assert.equal(plan(policy, [MIGRATING_FLAG], 'prod').steps.length, 1);
  assert.equal(plan(policy, [{ ...MIGRATING_FLAG }], 'staging').steps.length, 1, 'payment in staging: the broad rule');
});

void test('an irreversible step always needs a person: bounded autonomy, no sampling, full confidence, any severity', () => {
  const policy = basePolicy((pol) => {
    pol.checkpoint = { ...pol.checkpoint, alwaysFor: [], confidenceThreshold: 0, sampleRate: 0, approvalRisk: [] };
    pol.autonomy.default = 'bounded';
    pol.autonomy.limits = { maxRisk: 'critical', actions: ['restart', 'scale', 'set_flag', 'rollback'] };
    pol.irreversible = [{ action: 'set_flag', approved: true }];
  });
  const p = plan(policy, [MIGRATING_FLAG, RESTART]);
  const [flag, restart] = p.steps;
  assert.ok(flag && restart);
  assert.match(stepNeedsPerson(policy, flag, 'bounded') ?? '', /cannot be undone .*always with a person's approval/);
  assert.equal(stepNeedsPerson(policy, restart, 'bounded'), undefined, 'the undoable step alone would run on its own');
  for (const severity of ['P0', 'P2', 'P4'] as const) {
    const cp = checkpointFor({ policy, severity, plan: p, environment: undefined, uncertain: false, sampled: false });
    assert.equal(cp.required, true, `${severity} waits`);
    assert.deepEqual(cp.stepsNeedingApproval.map((s) => s.split(':')[0]), ['step-1']);
  }
  assert.deepEqual(checkpointFor({ policy, severity: 'P0', plan: p, environment: undefined, uncertain: false, sampled: false }).allowedRoles, ['incident-commander'], 'P0 still needs the commander');
  // Without the irreversible step the same policy lets the plan run alone.
  const alone = plan(policy, [RESTART]);
  assert.equal(checkpointFor({ policy, severity: 'P2', plan: alone, environment: undefined, uncertain: false, sampled: false }).required, false);
});

void test('high-risk steps (by the policy or by the runbook) run in two phases; others keep the single-phase path', () => {
  const policy = basePolicy(); // rollback high, scale medium, restart low
  const p = plan(policy, [{ action: 'rollback', description: 'Roll back' }, { action: 'scale', description: 'Scale', replicas: 5 }, { action: 'restart', description: 'Restart', risk: 'high' }]);
  assert.deepEqual(p.steps.map((s) => [s.action, s.risk, s.twoPhase ?? false]), [
    ['rollback', 'high', true],
    ['scale', 'medium', false],
    ['restart', 'low', true],
  ]);
  assert.equal(p.steps[0]?.params.toRelease, 'payment@1.9.0');
  assert.equal(runsInTwoPhases(policy, ['medium', undefined]), false);
  assert.equal(runsInTwoPhases(basePolicy((pol) => (pol.remediation.twoPhaseRisk = ['medium', 'high', 'critical'])), ['medium']), true, 'configurable');
  assert.equal(runsInTwoPhases(basePolicy((pol) => (pol.remediation.twoPhaseRisk = [])), ['critical']), false, 'can be turned off');
});

void test('without prepare/commit/abort tools, high-risk steps run in one phase and the plan says so', () => {
  const p = planRemediation({ rootCause: { service: 'payment' }, runbooks: [runbook([{ action: 'rollback', description: 'Roll back' }])], policy: basePolicy(), recentDeploy: true, state: STATE, evidenceDigests: [], twoPhaseSupported: false });
  assert.equal(p.steps[0]?.twoPhase, undefined);
  assert.equal(p.steps[0]?.risk, 'high', 'still high risk: the checkpoint still asks a person');
  assert.match(p.summary, /high-risk steps run in one phase: the tool registry binds no remediation.prepare\/commit\/abort/);
});

void test('the plan digest changes with the irreversible mark (an approval of the other plan is refused)', () => {
  const unmarked = plan(basePolicy(), [MIGRATING_FLAG, RESTART]);
  const marked = plan(basePolicy((pol) => (pol.irreversible = [{ action: 'set_flag', approved: true }])), [MIGRATING_FLAG, RESTART]);
  assert.notEqual(unmarked.digest, marked.digest);
});

void test('policy files: irreversible rules and two-phase settings are validated', () => {
  const raw = parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as Record<string, unknown>;
  assert.equal(Policy.safeParse({ ...raw, irreversible: [{ action: 'delete_everything' }] }).success, false, 'unknown action');
  assert.equal(Policy.safeParse({ ...raw, irreversible: [{ service: 'payment' }] }).success, false, 'action is required');
  const ok = Policy.parse({ ...raw, irreversible: [{ action: 'rollback', environment: 'staging' }] });
  assert.equal(ok.irreversible[0]?.approved, true, 'approved defaults to true');
  assert.deepEqual(Policy.parse(raw).remediation.twoPhaseRisk, ['high', 'critical']);
  assert.equal(Policy.safeParse({ ...raw, remediation: { prepareTtlSeconds: 0 } }).success, false);
});
