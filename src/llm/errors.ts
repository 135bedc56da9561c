/**
 * Errors of the LLM client, one class per condition, each with a stable `code` and
 * readonly context. None of them ever carries the API key, a request body or a
 * response body beyond a short excerpt of the provider's error text.
 */

/** Stable codes of every LLM client failure (recorded on the inference as `code`). */
export type LlmErrorCode = 'llm_config' | 'llm_timeout' | 'llm_network' | 'llm_http' | 'llm_bad_response' | 'llm_aborted';

export abstract class LlmError extends Error {
  abstract readonly code: LlmErrorCode;
  /** Attempts made before giving up (1 = no retry). */
  readonly attempts: number;
  protected constructor(message: string, attempts: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.attempts = attempts;
  }
}

/** Thrown by `loadLlmConfig` when some VIGIL_LLM_* variables are set but do not form a valid configuration. */
export class LlmConfigError extends Error {
  readonly code = 'llm_config' as const;
  constructor(message: string) {
    super(message);
    this.name = 'LlmConfigError';
  }
}

/** Every attempt ran past the per-attempt timeout (`timeoutMs`); the last one is reported. */
export class LlmTimeoutError extends LlmError {
  readonly code = 'llm_timeout' as const;
  readonly timeoutMs: number;
  constructor(timeoutMs: number, attempts: number) {
    super(`the model did not answer within ${timeoutMs} ms (${attempts} attempt(s))`, attempts);
    this.timeoutMs = timeoutMs;
  }
}

/** The connection failed (refused, reset, DNS) on every attempt. */
export class LlmNetworkError extends LlmError {
  readonly code = 'llm_network' as const;
  constructor(detail: string, attempts: number, cause?: unknown) {
    super(`network error calling the model: ${detail} (${attempts} attempt(s))`, attempts, { cause });
  }
}

/**
 * The provider answered with an HTTP error: a 4xx other than 429 at once (not retried),
 * or a 429/5xx after the retries ran out.
 */
export class LlmHttpError extends LlmError {
  readonly code = 'llm_http' as const;
  readonly status: number;
  /** The provider's error message, cut to 300 characters. */
  readonly detail: string;
  constructor(status: number, detail: string, attempts: number) {
    super(`the model provider answered HTTP ${status}${detail ? `: ${detail}` : ''} (${attempts} attempt(s))`, attempts);
    this.status = status;
    this.detail = detail;
  }
}

/** A 2xx answer that is not the provider's documented response shape (no text, not JSON). */
export class LlmBadResponseError extends LlmError {
  readonly code = 'llm_bad_response' as const;
  constructor(detail: string, attempts: number) {
    super(`the model provider's response is not usable: ${detail}`, attempts);
  }
}

/** The caller's AbortSignal fired (activity cancelled, overall inference deadline): not retried. */
export class LlmAbortedError extends LlmError {
  readonly code = 'llm_aborted' as const;
  constructor(attempts: number, reason?: string) {
    super(`the model call was aborted${reason ? `: ${reason}` : ''}`, attempts);
  }
}
