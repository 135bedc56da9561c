/**
 * What the inference records about an LLM's part in a decision: which reasoner decided,
 * whether a person must decide anyway, and each model call (no prompt, no key).
 * Pure module (zod only): safe in workflow code.
 */
import { z } from 'zod';

/** Which reasoner chose the root cause, and on what terms. */
export const DecidedBy = z.enum([
  /** The built-in reasoner alone (no LLM configured, or nothing to ask). */
  'builtin',
  /** The LLM's valid answer agreed with the built-in top candidate; confidence combined. */
  'llm+builtin',
  /** The LLM gave a valid answer that disagreed (or said "unknown"): built-in root cause, confidence capped, a person decides. */
  'builtin-disputed',
  /** The LLM gave no usable answer (rejected, unavailable, over budget): built-in root cause, confidence capped, a person decides. */
  'builtin-fallback',
]);
export type DecidedBy = z.infer<typeof DecidedBy>;

/** Why the incident is handed to a person regardless of the confidence threshold. */
export const HandOffReason = z.enum([
  'llm-over-budget',
  'llm-rejected',
  'llm-unavailable',
  'llm-disagrees',
  'llm-unknown',
]);
export type HandOffReason = z.infer<typeof HandOffReason>;

/** One model call, as recorded for the report (no prompt, no key; raw answers only when rejected). */
export const LlmCallRecord = z.object({
  attempt: z.number().int().positive().describe('1 = first question, 2 = the corrective retry'),
  outcome: z.enum(['accepted', 'rejected', 'error', 'not-called']),
  code: z.string().optional().describe('rejection code (LlmRejectionCode), LlmError code, or "over_budget"'),
  detail: z.string().optional(),
  rawExcerpt: z.string().optional().describe('the rejected answer, untrusted, cut to 2000 characters; never acted on'),
  promptTokens: z.number().int().nonnegative().default(0),
  completionTokens: z.number().int().nonnegative().default(0),
  httpAttempts: z.number().int().nonnegative().default(0),
  latencyMs: z.number().nonnegative().default(0),
});
export type LlmCallRecord = z.infer<typeof LlmCallRecord>;

export const LlmInferenceDetails = z.object({
  provider: z.string(),
  model: z.string(),
  promptVersion: z.string(),
  calls: z.array(LlmCallRecord),
  /** The accepted answer (valid, but untrusted text): shown to a person, never executed. */
  answer: z
    .object({
      service: z.string(),
      instance: z.string().optional(),
      indicator: z.string().optional(),
      selfReportedConfidence: z.number().min(0).max(1),
      agreesWithBuiltin: z.boolean(),
      reasoning: z.array(z.string()),
      evidenceRefs: z.array(z.string()),
      recommendedSteps: z.array(z.string()).describe('advisory text; never executed, render as untrusted'),
    })
    .optional(),
  builtin: z.object({ service: z.string().nullable(), confidence: z.number().min(0).max(1) }),
  tokens: z.object({ used: z.number().int().nonnegative(), budget: z.number().int().positive(), thisInference: z.number().int().nonnegative() }),
});
export type LlmInferenceDetails = z.infer<typeof LlmInferenceDetails>;

/** The fields to add to Inference. */
export const InferenceExtension = z.object({
  decidedBy: DecidedBy.default('builtin'),
  /** A person must decide the root cause: the workflow requires the checkpoint whatever the confidence. */
  handOff: z.boolean().default(false),
  handOffReason: HandOffReason.optional(),
  /** Why this reasoner decided, in words for the report (trusted: written by vigil). */
  notes: z.array(z.string()).default([]),
  llm: LlmInferenceDetails.optional(),
});
export type InferenceExtension = z.infer<typeof InferenceExtension>;
