/**
 * The policy: who may approve, when a person must decide, how risky each action is and
 * how autonomous vigil may be. Read from one YAML file by an activity and handed to the
 * workflow as data with its version, so replays see the policy that decided.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';
import { Severity } from './alert.js';
import { TokenKey } from '../identity/approver-token.js';

export const Role = z.enum(['sre', 'incident-commander', 'engineering-manager', 'observer']);
export type Role = z.infer<typeof Role>;

export const RiskClass = z.enum(['low', 'medium', 'high', 'critical']);
export type RiskClass = z.infer<typeof RiskClass>;

export const AutonomyLevel = z.enum(['shadow', 'assisted', 'partial', 'bounded']);
export type AutonomyLevel = z.infer<typeof AutonomyLevel>;

export const ActionKind = z.enum(['restart', 'scale', 'rollback', 'set_flag']);
export type ActionKind = z.infer<typeof ActionKind>;

/** Durations are whole seconds so tests can use short ones. */
const Seconds = z.number().int().positive();

/**
 * Marks an action that a runbook declares cannot be undone as allowed anyway, for a
 * service and/or environment; the most specific matching rule wins (service, then
 * environment), so a narrower `approved: false` can withdraw a broader mark.
 */
export const IrreversibleRule = z.object({
  action: ActionKind,
  service: z.string().min(1).optional(),
  environment: z.string().min(1).optional(),
  approved: z.boolean().default(true),
  /** Why the organisation accepts it (shown in the plan and the evidence). */
  reason: z.string().max(500).optional(),
});
export type IrreversibleRule = z.infer<typeof IrreversibleRule>;

const REMEDIATION_DEFAULTS = {
  actionTimeoutSeconds: 60,
  actionRetry: { initialIntervalSeconds: 2, maximumAttempts: 4 },
  compensationRetry: { initialIntervalSeconds: 2, maximumAttempts: 6 },
  twoPhaseRisk: ['high', 'critical'] as RiskClass[],
  prepareTtlSeconds: 3600,
};

export const Policy = z.object({
  version: z.string().min(1),
  approvers: z
    .array(z.object({ id: z.string().min(1), role: Role }))
    .describe('allow-list of trusted identities and their roles'),
  checkpoint: z.object({
    /** Severities that always wait for a person before remediation. */
    alwaysFor: z.array(Severity).default(['P0']),
    /** Below this root-cause confidence the incident is "uncertain" and a person decides. */
    confidenceThreshold: z.number().min(0).max(1).default(0.6),
    /** Share of the remaining incidents that are sampled for approval anyway. */
    sampleRate: z.number().min(0).max(1).default(0.05),
    /** Risk classes of actions that always need approval. */
    approvalRisk: z.array(RiskClass).default(['high', 'critical']),
    /** How long to wait for a decision before the safe default (no remediation). */
    timeoutSeconds: Seconds.default(900),
    /** Roles that may approve remediation of these severities. */
    approverRoles: z.record(Severity, z.array(Role)).default({
      P0: ['incident-commander'],
      P1: ['sre', 'incident-commander'],
      P2: ['sre', 'incident-commander'],
      P3: ['sre', 'incident-commander'],
      P4: ['sre', 'incident-commander'],
    }),
  }),
  actions: z.record(ActionKind, z.object({ risk: RiskClass })).default({
    restart: { risk: 'low' },
    scale: { risk: 'medium' },
    rollback: { risk: 'high' },
    set_flag: { risk: 'medium' },
  }),
  autonomy: z
    .object({
      default: AutonomyLevel.default('assisted'),
      /** Per service, then per environment (alert label env/environment); rules are most specific. */
      services: z.record(z.string(), AutonomyLevel).default({}),
      environments: z.record(z.string(), AutonomyLevel).default({}),
      rules: z
        .array(z.object({ service: z.string().optional(), environment: z.string().optional(), action: ActionKind.optional(), level: AutonomyLevel }))
        .default([]),
      /** `partial` acts without a person only within these limits; `bounded` also needs a real undo. */
      limits: z
        .object({ maxRisk: RiskClass.default('medium'), actions: z.array(ActionKind).default(['restart', 'scale', 'set_flag']) })
        .default({ maxRisk: 'medium', actions: ['restart', 'scale', 'set_flag'] }),
    })
    .default({ default: 'assisted', services: {}, environments: {}, rules: [], limits: { maxRisk: 'medium', actions: ['restart', 'scale', 'set_flag'] } }),
  identity: z
    .object({
      /** Trusted internal senders on the approvers allow-list may decide without a token. */
      allowUnsigned: z.boolean().default(true),
      /** Public keys that sign approver tokens (Ed25519, base64url). */
      tokenKeys: z.array(TokenKey).default([]),
    })
    .default({ allowUnsigned: true, tokenKeys: [] }),
  escalation: z
    .object({
      /** Who is asked, in order; each level waits afterSeconds before the next is notified. */
      chain: z.array(z.object({ role: Role, afterSeconds: Seconds })).default([]),
      /** Where notifications go (Slack-compatible incoming webhook, or generic JSON). */
      webhooks: z.array(z.object({ url: z.string().url(), format: z.enum(['slack', 'generic']).default('generic') })).default([]),
    })
    .default({ chain: [], webhooks: [] }),
  killSwitch: z.object({ pollSeconds: Seconds.default(5) }).default({ pollSeconds: 5 }),
  /** How long one action may take and how actions and their undos are retried (undos harder). */
  remediation: z
    .object({
      actionTimeoutSeconds: Seconds.default(60),
      actionRetry: z.object({ initialIntervalSeconds: Seconds.default(2), maximumAttempts: Seconds.default(4) }).default({ initialIntervalSeconds: 2, maximumAttempts: 4 }),
      compensationRetry: z.object({ initialIntervalSeconds: Seconds.default(2), maximumAttempts: Seconds.default(6) }).default({ initialIntervalSeconds: 2, maximumAttempts: 6 }),
      /** Steps of these risk classes (the policy's for the action, or the runbook's) run in two phases: prepare before the checkpoint, commit after it. */
      twoPhaseRisk: z.array(RiskClass).default(['high', 'critical']),
      /** How long a prepared step is held; an approval given later prepares again and asks again. */
      prepareTtlSeconds: Seconds.max(86_400).default(3600),
    })
    .default(REMEDIATION_DEFAULTS),
  /** Actions a runbook declares irreversible are left out of plans unless a rule here approves them; approved ones always wait for a person. */
  irreversible: z.array(IrreversibleRule).default([]),
  verification: z
    .object({
      windowSeconds: Seconds.default(120),
      /** Symptoms count as recovered when back under baseline median + this many MADs. */
      toleranceMads: z.number().positive().default(6),
    })
    .default({ windowSeconds: 120, toleranceMads: 6 }),
});
export type Policy = z.infer<typeof Policy>;
