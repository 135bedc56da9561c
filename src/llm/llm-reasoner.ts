/**
 * LLM root-cause inference with honest confidence. The model is asked (prompt.ts), its
 * answer validated (inference-output.ts); one corrective retry follows a rejected answer,
 * within the token budget. The model never moves the root cause by itself:
 *
 * - It AGREES (names the built-in top candidate's service): root cause = the built-in one,
 *   confidence = combineConfidence(b, m) (below). decidedBy 'llm+builtin', reasoner = model.
 * - It DISAGREES or says "unknown": root cause = the built-in one, confidence capped at
 *   confidenceCap(t), handOff (a person decides; the model's alternative is in `llm.answer`
 *   and the notes). decidedBy 'builtin-disputed'.
 * - It gives NO USABLE ANSWER (rejected twice, timeout/network/HTTP error, over budget,
 *   deadline): the built-in result with confidence capped at confidenceCap(t), handOff.
 *   decidedBy 'builtin-fallback'.
 *
 * Confidence combination (b = built-in evidence-based confidence, m = the model's
 * self-reported confidence, t = the policy's checkpoint threshold, all 0..1):
 *   agree:    c = m ≥ b ? b + min(0.1, (m − b) / 2)      (agreement adds at most 0.1, half the gap)
 *                       : (b + m) / 2                     (the model's doubt pulls it halfway down)
 *             and if b < t: c = min(c, (b + t) / 2)       (never lifts an uncertain incident across t)
 *   disagree, "unknown", or no usable answer:
 *             c = min(b, confidenceCap(t)),  confidenceCap(t) = max(0, t − 0.1)
 * So self-reported confidence alone can never make vigil act without a person: crossing t
 * needs the evidence (b ≥ t) and the model's agreement; the model can always cast doubt.
 * Because text in telemetry can at most steer the model's choice, an injection can only
 * produce a rejection or a disagreement: both hand the incident to a person, and the root
 * cause (hence the plan) stays the evidence-ranked one.
 */
import type { RootCauseVerdict } from '../reasoner/builtin-reasoner.js';
import type { Alert } from '../schemas/alert.js';
import type { Candidate, SourceEvidence } from '../schemas/evidence.js';
import type { History } from '../schemas/incident.js';
import { LlmAbortedError, LlmError } from './errors.js';
import {
  UNKNOWN_SERVICE,
  validateLlmAnswer,
  type DecidedBy,
  type HandOffReason,
  type LlmAnswer,
  type LlmCallRecord,
  type LlmInference,
  type LlmInferenceDetails,
} from './inference-output.js';
import { buildPrompt, correctiveMessage, PROMPT_VERSION, type PromptLimits } from './prompt.js';
import type { LlmLogger, LlmMessage, LlmProvider } from './provider.js';
import type { TokenBudget } from './token-budget.js';

/** Below-threshold margin for capped results. @default 0.1 */
export const CAP_MARGIN = 0.1;
/** Most that agreement can add to the built-in confidence. @default 0.1 */
export const AGREEMENT_BONUS_MAX = 0.1;
/** Longest rejected answer echoed back to the model in the corrective retry. */
const ECHO_CHARS = 4000;

const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
const pct = (x: number) => `${Math.round(x * 100)}%`;

/** The confidence a result is capped at when a person must decide: below the threshold t. */
export function confidenceCap(threshold: number): number {
  return Math.max(0, threshold - CAP_MARGIN);
}

/** The combination rule (see the module header). */
export function combineConfidence(input: { builtin: number; llm: number; agree: boolean; threshold: number }): number {
  const b = clamp01(input.builtin);
  const m = clamp01(input.llm);
  const t = input.threshold;
  if (!input.agree) return Math.min(b, confidenceCap(t));
  let c = m >= b ? b + Math.min(AGREEMENT_BONUS_MAX, (m - b) / 2) : (b + m) / 2;
  if (b < t) c = Math.min(c, (b + t) / 2);
  return clamp01(c);
}

export interface InferWithLlmInput {
  provider: LlmProvider;
  /** The incident's budget (shared by every model call of the incident). */
  budget: TokenBudget;
  candidates: Candidate[];
  evidence: SourceEvidence[];
  alerts: Alert[];
  /** Services of the topology (empty when the topology is missing: candidates only then). */
  knownServices: string[];
  history: History | null;
  /** The built-in reasoner's verdict on the same input. */
  builtin: RootCauseVerdict;
  /** policy.checkpoint.confidenceThreshold. @default 0.6 */
  confidenceThreshold?: number;
  /** Completion cap per call (further capped by the budget). @default 1500 */
  maxOutputTokens?: number;
  /** @default 0 */
  temperature?: number;
  /** The whole inference (all calls, retries, backoff) must end within this. @default 90000 */
  deadlineMs?: number;
  /** Cancellation (e.g. the activity's cancellationSignal): rethrown as LlmAbortedError. */
  signal?: AbortSignal;
  logger?: LlmLogger;
  promptLimits?: Partial<PromptLimits>;
}

/**
 * Decide the root cause with the model and the built-in reasoner. Never throws for model
 * failures (they become a capped fallback with handOff); throws LlmAbortedError only
 * when `signal` is aborted by the caller.
 */
export async function inferWithLlm(input: InferWithLlmInput): Promise<LlmInference> {
  const threshold = input.confidenceThreshold ?? 0.6;
  const cap = confidenceCap(threshold);
  const { provider, budget, builtin } = input;
  const usedBefore = budget.usedTokens;
  const calls: LlmCallRecord[] = [];
  const b = clamp01(builtin.confidence);
  const builtinService = builtin.rootCause?.service ?? null;
  let answerModel = provider.model;

  const details = (answer?: LlmInferenceDetails['answer']): LlmInferenceDetails => ({
    provider: provider.kind,
    model: answerModel,
    promptVersion: PROMPT_VERSION,
    calls,
    ...(answer ? { answer } : {}),
    builtin: { service: builtinService, confidence: b },
    tokens: { used: budget.usedTokens, budget: budget.maxTokens, thisInference: budget.usedTokens - usedBefore },
  });

  const builtinResult = (decidedBy: DecidedBy, confidence: number, notes: string[], extra: Partial<LlmInference> = {}): LlmInference => ({
    reasoner: 'builtin',
    rootCause: builtin.rootCause,
    confidence,
    reasoning: [...notes, ...builtin.reasoning],
    evidenceRefs: [...builtin.evidenceRefs],
    decidedBy,
    handOff: false,
    notes,
    ...extra,
  });

  if (!builtin.rootCause || input.candidates.length === 0) {
    return builtinResult('builtin', b, ['decided by the built-in reasoner: no candidate with evidence, the LLM was not asked'], { llm: details() });
  }

  const fallback = (reason: HandOffReason, why: string): LlmInference => {
    const c = Math.min(b, cap);
    const notes = [
      `decided by the built-in reasoner (fallback): the LLM ${provider.model} gave no usable answer (${why}); confidence capped at ${pct(c)} (evidence alone: ${pct(b)}) so a person decides`,
    ];
    return builtinResult('builtin-fallback', c, notes, { handOff: true, handOffReason: reason, llm: details() });
  };

  const prompt = buildPrompt({
    alerts: input.alerts,
    candidates: input.candidates,
    evidence: input.evidence,
    knownServices: input.knownServices,
    history: input.history,
    ...(input.promptLimits ? { limits: input.promptLimits } : {}),
  });
  const context = {
    knownServices: input.knownServices,
    candidateServices: input.candidates.map((c) => c.service),
    findingIds: input.evidence.flatMap((e) => e.findings.map((f) => f.id)),
  };
  const deadline = AbortSignal.timeout(input.deadlineMs ?? 90_000);
  const signal = input.signal ? AbortSignal.any([input.signal, deadline]) : deadline;
  const messages: LlmMessage[] = [{ role: 'user', content: prompt.user }];

  let accepted: LlmAnswer | null = null;
  for (let attempt = 1; attempt <= 2 && !accepted; attempt++) {
    const allowance = budget.allow({ promptText: prompt.system + messages.map((m) => m.content).join('\n'), maxOutputTokens: input.maxOutputTokens ?? 1500 });
    if (!allowance.ok) {
      calls.push({ attempt, outcome: 'not-called', code: 'over_budget', detail: allowance.reason, promptTokens: 0, completionTokens: 0, httpAttempts: 0, latencyMs: 0 });
      input.logger?.warn({ provider: provider.kind, model: provider.model, attempt }, 'llm: token budget exhausted, not calling the model');
      return fallback('llm-over-budget', allowance.reason);
    }
    const started = Date.now();
    let completion;
    try {
      completion = await provider.complete({
        system: prompt.system,
        messages,
        maxTokens: allowance.maxOutputTokens,
        temperature: input.temperature ?? 0,
        responseFormat: 'json',
        signal,
      });
    } catch (err) {
      if (input.signal?.aborted) throw err instanceof LlmAbortedError ? err : new LlmAbortedError(0, 'cancelled');
      if (!(err instanceof LlmError)) throw err;
      if (err.code === 'llm_timeout') budget.recordFailed(allowance.estimatedPromptTokens);
      const detail = deadline.aborted ? `inference deadline of ${input.deadlineMs ?? 90_000} ms passed` : err.message;
      calls.push({ attempt, outcome: 'error', code: err.code, detail, promptTokens: 0, completionTokens: 0, httpAttempts: err.attempts, latencyMs: Date.now() - started });
      input.logger?.warn({ provider: provider.kind, model: provider.model, attempt, code: err.code }, 'llm: no answer');
      return fallback('llm-unavailable', detail);
    }
    budget.record(completion.usage);
    answerModel = completion.model;
    const record = {
      attempt,
      promptTokens: completion.usage.promptTokens,
      completionTokens: completion.usage.completionTokens,
      httpAttempts: completion.attempts,
      latencyMs: Date.now() - started,
    };
    const verdict = validateLlmAnswer(completion.text, context);
    if (verdict.ok) {
      calls.push({ ...record, outcome: 'accepted' });
      accepted = verdict.answer;
      break;
    }
    calls.push({
      ...record,
      outcome: 'rejected',
      code: verdict.code,
      detail: `${verdict.reason}${completion.finishReason === 'length' || completion.finishReason === 'max_tokens' ? ' (the answer was cut off at the token limit)' : ''}`,
      rawExcerpt: verdict.raw,
    });
    input.logger?.warn({ provider: provider.kind, model: provider.model, attempt, code: verdict.code }, 'llm: answer rejected, not acted on');
    if (attempt === 2) return fallback('llm-rejected', `answer rejected twice, last: ${verdict.code}`);
    messages.push({ role: 'assistant', content: completion.text.slice(0, ECHO_CHARS) }, { role: 'user', content: correctiveMessage(verdict.reason) });
  }
  if (!accepted) return fallback('llm-rejected', 'no accepted answer');

  const a = accepted;
  const m = a.confidence;
  const agrees = a.root_cause.service === builtinService;
  const answer = {
    service: a.root_cause.service,
    ...(a.root_cause.instance ? { instance: a.root_cause.instance } : {}),
    ...(a.root_cause.indicator ? { indicator: a.root_cause.indicator } : {}),
    selfReportedConfidence: m,
    agreesWithBuiltin: agrees,
    reasoning: a.reasoning,
    evidenceRefs: a.evidence_refs,
    recommendedSteps: a.recommended_steps,
  };

  if (!agrees) {
    const unknown = a.root_cause.service === UNKNOWN_SERVICE;
    const c = combineConfidence({ builtin: b, llm: m, agree: false, threshold });
    const notes = [
      unknown
        ? `decided by the built-in reasoner (disputed): the LLM ${answerModel} answered "unknown" (self-reported ${pct(m)}); the built-in root cause ${builtinService} is kept with confidence capped at ${pct(c)} (evidence alone: ${pct(b)}) so a person decides`
        : `decided by the built-in reasoner (disputed): the LLM ${answerModel} names ${a.root_cause.service} (self-reported ${pct(m)}), the evidence ranking names ${builtinService}; the built-in root cause is kept with confidence capped at ${pct(c)} (evidence alone: ${pct(b)}) so a person decides (override to ${a.root_cause.service} if the LLM is right)`,
    ];
    return builtinResult('builtin-disputed', c, notes, {
      handOff: true,
      handOffReason: unknown ? 'llm-unknown' : 'llm-disagrees',
      reasoning: [...notes, ...builtin.reasoning, ...a.reasoning.map((r) => `LLM (not adopted): ${r}`)],
      llm: details(answer),
    });
  }

  const c = combineConfidence({ builtin: b, llm: m, agree: true, threshold });
  const notes = [
    `decided by the LLM ${answerModel} and the built-in reasoner in agreement on ${builtinService}: confidence ${pct(c)} from the evidence (${pct(b)}) and the model's self-report (${pct(m)})${b < threshold ? `; the evidence alone is below the ${pct(threshold)} threshold, so agreement does not lift it across` : ''}`,
  ];
  return {
    reasoner: answerModel,
    rootCause: builtin.rootCause,
    confidence: c,
    reasoning: [...notes, ...builtin.reasoning, ...a.reasoning.map((r) => `LLM: ${r}`)],
    evidenceRefs: [...new Set([...builtin.evidenceRefs, ...a.evidence_refs])],
    decidedBy: 'llm+builtin',
    handOff: false,
    notes,
    llm: details(answer),
  };
}
