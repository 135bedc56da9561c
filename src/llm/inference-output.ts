/**
 * What the model must answer with, the validator that decides whether an answer may be
 * used at all, and the proposed extension of the Inference schema (src/schemas/incident.ts)
 * that records which reasoner decided, why, and whether a person must decide.
 *
 * The answer schema is strict and has no field that could carry an action, a command
 * or an approval: an answer with any other key is rejected. A rejected answer is
 * recorded (truncated, as untrusted text) and never acted on.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';
import { Inference } from '../schemas/incident.js';

/** The service value that means "the model cannot tell". */
export const UNKNOWN_SERVICE = 'unknown';

const line = (max: number) => z.string().max(max);

/** The JSON object the model must answer with (snake_case: the prompt shows it verbatim). */
export const LlmAnswer = z
  .object({
    root_cause: z
      .object({
        service: z.string().min(1).max(200).describe(`a service from the topology or the candidates, or "${UNKNOWN_SERVICE}"`),
        instance: line(200).optional(),
        indicator: line(200).optional(),
      })
      .strict(),
    confidence: z.number().min(0).max(1),
    reasoning: z.array(line(1000)).min(1).max(20),
    evidence_refs: z.array(line(300)).max(50),
    recommended_steps: z.array(line(500)).max(10).describe('advice for a person; never executed'),
  })
  .strict();
export type LlmAnswer = z.infer<typeof LlmAnswer>;

/** Why an answer was rejected (stable codes, recorded on the inference). */
export const LlmRejectionCode = z.enum(['empty', 'not_json', 'schema', 'unknown_service', 'unknown_evidence', 'no_evidence']);
export type LlmRejectionCode = z.infer<typeof LlmRejectionCode>;

export interface AnswerContext {
  /** Services of the topology. */
  knownServices: readonly string[];
  /** Services of the ranked candidates. */
  candidateServices: readonly string[];
  /** Ids of every finding the prompt showed. */
  findingIds: readonly string[];
}

export type AnswerValidation =
  | { ok: true; answer: LlmAnswer }
  | { ok: false; code: LlmRejectionCode; reason: string; raw: string };

/** Longest raw answer kept on a rejection (it is untrusted and goes into workflow history). */
export const RAW_EXCERPT_CHARS = 2000;

function excerpt(text: string): string {
  return text.length > RAW_EXCERPT_CHARS ? `${text.slice(0, RAW_EXCERPT_CHARS)}…` : text;
}

/** The text without one surrounding Markdown code fence (```json ... ```), trimmed. */
function unfence(text: string): string {
  const t = text.trim();
  const m = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(t);
  return (m?.[1] ?? t).trim();
}

/**
 * Validates a model answer: JSON, the LlmAnswer schema, a service the topology or the
 * candidates know (or "unknown"), and evidence ids that exist (at least one when a service
 * is named). Anything else is `{ ok: false }` with the reason and the raw text (cut to
 * RAW_EXCERPT_CHARS), and must not be acted on.
 */
export function validateLlmAnswer(text: string, context: AnswerContext): AnswerValidation {
  const raw = excerpt(text);
  const body = unfence(text);
  if (!body) return { ok: false, code: 'empty', reason: 'the answer is empty', raw };
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, code: 'not_json', reason: 'the answer is not a JSON object', raw };
  }
  const parsed = LlmAnswer.safeParse(json);
  if (!parsed.success) return { ok: false, code: 'schema', reason: `the answer does not match the schema: ${z.prettifyError(parsed.error).slice(0, 600)}`, raw };
  const answer = parsed.data;
  const service = answer.root_cause.service.trim();
  const allowed = new Set([...context.knownServices, ...context.candidateServices]);
  if (service !== UNKNOWN_SERVICE && !allowed.has(service))
    return { ok: false, code: 'unknown_service', reason: 'root_cause.service is neither a topology service, a candidate, nor "unknown"', raw };
  const ids = new Set(context.findingIds);
  const unknownRefs = answer.evidence_refs.filter((r) => !ids.has(r));
  if (unknownRefs.length > 0)
    return { ok: false, code: 'unknown_evidence', reason: `evidence_refs cites ${unknownRefs.length} id(s) that are not finding ids of this incident`, raw };
  if (service !== UNKNOWN_SERVICE && answer.evidence_refs.length === 0)
    return { ok: false, code: 'no_evidence', reason: 'a root cause is named but evidence_refs cites no finding', raw };
  return { ok: true, answer: { ...answer, root_cause: { ...answer.root_cause, service } } };
}

export { DecidedBy, HandOffReason, LlmCallRecord, LlmInferenceDetails, InferenceExtension } from '../schemas/llm-inference.js';

/** Inference (with the LLM fields): what `inferWithLlm` returns. */
export const LlmInference = Inference;
export type LlmInference = z.infer<typeof LlmInference>;
