/**
 * The evidence packet: the proof-of-action record vigil writes for every significant
 * step (a diagnosis, a checkpoint decision or a refused one, a remediation action, the
 * prepare of a high-risk one or its release, its compensation, a verification, an escalation, a policy change, the kill switch).
 * It answers what was done, why, with which inputs, under which policy and version,
 * what the downstream system answered and how to undo it.
 * Pure module (zod only): workflow code may build packets and hand them to an activity.
 */
import { z } from 'zod';
import { Role } from '../schemas/policy.js';

export const EvidenceKind = z.enum([
  'diagnosis',
  'checkpoint-decision',
  'decision-refused',
  'remediation-action',
  'remediation-prepare',
  'prepare-release',
  'compensation',
  'verification',
  'escalation',
  'policy-change',
  'kill-switch',
]);
export type EvidenceKind = z.infer<typeof EvidenceKind>;

/** Kinds that are not about one incident (they may carry no incident id). */
export const GLOBAL_KINDS: readonly EvidenceKind[] = ['policy-change', 'kill-switch'];

const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

/** Which behaviour produced the step: every part that can change what the agent does. */
export const AgentVersion = z.object({
  workflowBuildId: z.string().min(1).describe('worker build id (or package version) that ran the workflow'),
  policyVersion: z.string().min(1).describe('the `version` of the policy in force'),
  promptVersion: z.string().min(1).default('none').describe('prompt template version; "none" for the built-in reasoner'),
  model: z.string().min(1).default('builtin').describe('model id, or "builtin" for the deterministic reasoner'),
  toolSchemaVersions: z
    .record(z.string(), z.string())
    .default({})
    .describe('tool or capability name -> version or digest of its input/output schema'),
});
export type AgentVersion = z.infer<typeof AgentVersion>;

/** One tool call behind the step: its inputs verbatim (redacted on write), its output by digest. */
export const ToolCallEvidence = z.object({
  tool: z.string().min(1).describe('capability or server tool, e.g. "metrics.query_range"'),
  server: z.string().optional().describe('MCP server that served it'),
  input: z.unknown().describe('the arguments sent (secrets and configured PII are redacted before writing)'),
  outputDigest: Sha256Hex.optional().describe('SHA-256 of the canonical output; absent when the call failed'),
  outputRef: z.string().optional().describe('evidence-store reference of the raw output'),
  status: z.enum(['ok', 'error', 'refused']).default('ok'),
  error: z.string().optional(),
  startedAt: z.iso.datetime().optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type ToolCallEvidence = z.infer<typeof ToolCallEvidence>;

/** The policies and constraints that applied, and the one rule that decided. */
export const PolicyEvidence = z.object({
  applied: z
    .array(
      z.object({
        name: z.string().min(1).describe('e.g. "checkpoint.alwaysFor", "actions.rollback.risk", "autonomy.services.payment"'),
        version: z.string().optional(),
        effect: z.string().optional().describe('what it required, in words, e.g. "P0 needs the incident commander"'),
      }),
    )
    .default([]),
  decidingRule: z.string().min(1).describe('the rule that decided the outcome'),
  outcome: z.string().optional().describe('e.g. "approval required", "allowed", "refused: role sre may not approve P0"'),
});
export type PolicyEvidence = z.infer<typeof PolicyEvidence>;

/** The action executed and what the downstream system answered. */
export const ActionEvidence = z.object({
  kind: z.string().min(1).describe('restart, scale, rollback, set_flag, ...'),
  target: z.string().min(1).describe('service or resource acted on'),
  stepId: z.string().optional(),
  idempotencyKey: z.string().optional(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  executed: z.boolean().describe('false when only planned, simulated (shadow mode) or refused'),
  downstream: z
    .object({
      status: z.string().describe('e.g. "ok", "error", "HTTP 200"'),
      summary: z.string().optional(),
      digest: Sha256Hex.optional().describe('SHA-256 of the full response, kept in the evidence store'),
      ref: z.string().optional(),
    })
    .optional(),
});
export type ActionEvidence = z.infer<typeof ActionEvidence>;

/** How to undo the step (on an action) or which action this undoes (on a compensation). */
export const CompensationEvidence = z.object({
  ref: z.string().min(1).describe('compensation id / hook reference, e.g. "incident-x/step-2/undo"'),
  description: z.string().optional().describe('e.g. "scale payment back to 3 replicas"'),
  state: z.record(z.string(), z.unknown()).optional().describe('state captured to undo (previous release, replicas)'),
  forPacketId: z.string().optional().describe('packet id of the action this compensates'),
  irreversible: z.boolean().optional().describe('true when the action has no undo (allowed only by a policy mark, always with a person)'),
});
export type CompensationEvidence = z.infer<typeof CompensationEvidence>;

/** Who took the step. A person always has an identity and a role. */
export const Actor = z.discriminatedUnion('type', [
  z.object({ type: z.literal('agent'), id: z.string().min(1).describe('e.g. "vigil-worker"') }),
  z.object({ type: z.literal('person'), id: z.string().min(1), role: Role }),
  z.object({ type: z.literal('system'), id: z.string().min(1).describe('e.g. "vigil-cli", "scheduler"') }),
]);
export type Actor = z.infer<typeof Actor>;

/** What each kind must carry besides the common fields. */
const KIND_REQUIRES: Partial<Record<EvidenceKind, readonly ('action' | 'compensation' | 'policy')[]>> = {
  'checkpoint-decision': ['policy'],
  'decision-refused': ['policy'],
  'remediation-action': ['action', 'policy'],
  'remediation-prepare': ['action', 'policy'],
  'prepare-release': ['action'],
  compensation: ['action', 'compensation'],
};

export const EvidencePacket = z
  .object({
    packetId: z
      .string()
      .min(1)
      .describe('idempotency key, the same on every retry (e.g. "<incident>/<step>/action"); a second append returns the first record'),
    kind: EvidenceKind,
    incidentId: z.string().min(1).optional().describe('required except for policy-change and kill-switch'),
    requestId: z.string().optional().describe('the request that caused the step: alert group key, update id, CLI invocation'),
    timestamp: z.iso.datetime().describe('when the step happened (ISO 8601, UTC)'),
    agentVersion: AgentVersion,
    planSummary: z.string().min(1).describe('the intent in plain words'),
    toolCalls: z.array(ToolCallEvidence).default([]),
    policy: PolicyEvidence.optional(),
    justification: z.string().min(1).describe('why, in a few sentences a person can check'),
    action: ActionEvidence.optional(),
    compensation: CompensationEvidence.optional(),
    actor: Actor,
    details: z.record(z.string(), z.unknown()).optional().describe('kind-specific extras (candidates, confidence, reason)'),
  })
  .superRefine((p, ctx) => {
    if (!p.incidentId && !GLOBAL_KINDS.includes(p.kind)) {
      ctx.addIssue({ code: 'custom', path: ['incidentId'], message: `a ${p.kind} packet needs an incidentId` });
    }
    for (const need of KIND_REQUIRES[p.kind] ?? []) {
      if (p[need] === undefined) ctx.addIssue({ code: 'custom', path: [need], message: `a ${p.kind} packet needs ${need}` });
    }
  });
/** A packet as stored (defaults applied). */
export type EvidencePacket = z.infer<typeof EvidencePacket>;
/** A packet as a caller writes it (defaults optional). */
export type EvidencePacketInput = z.input<typeof EvidencePacket>;
