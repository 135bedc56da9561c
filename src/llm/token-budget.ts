/**
 * Token accounting for one incident: every model call is charged what the provider
 * reports (prompt + completion). A call is allowed only if its estimated prompt plus a
 * minimum answer still fit; its completion is then capped to what is left, so the
 * budget is exceeded at most by the error of the prompt estimate. Once a call is
 * refused the budget says so and no further calls are made.
 * The state is plain JSON (`snapshot`), so a caller can carry it across activity attempts.
 */
import { z } from 'zod';
import { estimateTokens, type LlmUsage } from './provider.js';

export const TokenBudgetState = z.object({
  maxTokens: z.number().int().positive(),
  usedTokens: z.number().int().nonnegative().default(0),
  calls: z.number().int().nonnegative().default(0),
  /** Calls not made because the budget could not cover them. */
  refusedCalls: z.number().int().nonnegative().default(0),
});
export type TokenBudgetState = z.infer<typeof TokenBudgetState>;

export type BudgetAllowance =
  | { ok: true; maxOutputTokens: number; estimatedPromptTokens: number }
  | { ok: false; reason: string; estimatedPromptTokens: number };

/** The smallest completion worth asking for: a full answer needs a few hundred tokens. @default 256 */
export const MIN_OUTPUT_TOKENS = 256;

export class TokenBudget {
  #state: TokenBudgetState;

  constructor(state: { maxTokens: number; usedTokens?: number; calls?: number; refusedCalls?: number }) {
    this.#state = TokenBudgetState.parse(state);
  }

  get maxTokens(): number {
    return this.#state.maxTokens;
  }
  get usedTokens(): number {
    return this.#state.usedTokens;
  }
  get remaining(): number {
    return Math.max(0, this.#state.maxTokens - this.#state.usedTokens);
  }
  /** True once a call was refused or everything is spent. */
  get exhausted(): boolean {
    return this.#state.refusedCalls > 0 || this.remaining === 0;
  }

  /**
   * May a call with this prompt be made, and with how many completion tokens at most?
   * Refusals are counted; after one, every later call is refused too.
   */
  allow(request: { promptText: string; maxOutputTokens: number; minOutputTokens?: number }): BudgetAllowance {
    const estimatedPromptTokens = estimateTokens(request.promptText);
    const min = Math.min(request.minOutputTokens ?? MIN_OUTPUT_TOKENS, request.maxOutputTokens);
    const left = this.remaining - estimatedPromptTokens;
    if (this.#state.refusedCalls > 0 || left < min) {
      this.#state.refusedCalls++;
      return {
        ok: false,
        estimatedPromptTokens,
        reason: `token budget exhausted: ${this.#state.usedTokens} of ${this.#state.maxTokens} tokens used in ${this.#state.calls} call(s); the next call needs about ${estimatedPromptTokens + min}`,
      };
    }
    return { ok: true, estimatedPromptTokens, maxOutputTokens: Math.min(request.maxOutputTokens, left) };
  }

  /** Charge one call's usage (also for calls whose answer was rejected). */
  record(usage: Pick<LlmUsage, 'promptTokens' | 'completionTokens'>): void {
    this.#state.calls++;
    this.#state.usedTokens += Math.max(0, Math.round(usage.promptTokens)) + Math.max(0, Math.round(usage.completionTokens));
  }

  /** Charge a call that failed without reported usage (timeout, network): its estimated prompt. */
  recordFailed(estimatedPromptTokens: number): void {
    this.#state.calls++;
    this.#state.usedTokens += Math.max(0, Math.round(estimatedPromptTokens));
  }

  snapshot(): TokenBudgetState {
    return { ...this.#state };
  }
}
