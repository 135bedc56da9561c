/**
 * The LLM provider interface and its two implementations: any OpenAI-compatible
 * chat-completions API (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM) and the Anthropic
 * Messages API. Plain fetch; per-attempt timeouts (AbortController); retries with
 * backoff on 429 (Retry-After honoured), 5xx, network errors and timeouts; no retry on
 * other 4xx. The API key is held in a private field and never logged or thrown.
 */
import { z } from 'zod';
import { LlmAbortedError, LlmBadResponseError, LlmHttpError, LlmNetworkError, LlmTimeoutError } from './errors.js';
import type { LlmConfig, LlmProviderKind } from './llm-config.js';

export interface LlmMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface LlmRequest {
  system: string;
  /** The conversation; starts with a user message and alternates. */
  messages: LlmMessage[];
  maxTokens: number;
  temperature: number;
  /** 'json': ask for a JSON object (OpenAI `response_format`; Anthropic relies on the prompt). @default 'text' */
  responseFormat?: 'json' | 'text';
  /** Aborts the call and its retries (activity cancellation, overall deadline). */
  signal?: AbortSignal;
}

export interface LlmUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the provider reported no usage and it was estimated from the text length. */
  estimated?: boolean;
}

export interface LlmCompletion {
  text: string;
  usage: LlmUsage;
  /** The model that answered, as the provider names it (falls back to the configured one). */
  model: string;
  /** 'stop', 'length', 'end_turn', 'max_tokens', ... as the provider says. */
  finishReason?: string;
  /** HTTP attempts it took (1 = no retry). */
  attempts: number;
}

export interface LlmProvider {
  readonly kind: LlmProviderKind;
  /** The configured model name. */
  readonly model: string;
  /** One completion. Throws an LlmError subclass when the provider cannot give one. */
  complete(request: LlmRequest): Promise<LlmCompletion>;
}

/** Structural subset of a pino logger; untrusted text goes under `data`. */
export interface LlmLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
  debug(obj: Record<string, unknown>, msg: string): void;
}

export interface ProviderOptions {
  logger?: LlmLogger;
  /** Waits between retries; injectable so tests can record the delays. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** 0..1, for backoff jitter. @default Math.random */
  random?: () => number;
  /** First backoff delay; doubled per retry. @default 500 */
  backoffBaseMs?: number;
  /** Longest backoff delay. @default 8000 */
  backoffMaxMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails at once. @default 60000 */
  maxRetryAfterMs?: number;
}

/** Rough token estimate (≈3 characters per token: conservative for JSON and code). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

/** Retry-After (seconds or HTTP date) or retry-after-ms, in milliseconds; null if absent or unreadable. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | null {
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const v = headers.get('retry-after')?.trim();
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface HttpCall {
  url: string;
  headers: Record<string, string>;
  body: unknown;
  timeoutMs: number;
  maxRetries: number;
  signal?: AbortSignal;
  /** Removed from any provider error text before it is kept. */
  secret?: string;
  /** For logs (an LLM provider kind, or e.g. "embeddings"). */
  provider: LlmProviderKind | 'embeddings';
  model: string;
}

function errorDetail(text: string, secret: string | undefined): string {
  let detail = text;
  try {
    const j = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const m = typeof j.error === 'string' ? j.error : typeof j.error?.message === 'string' ? j.error.message : typeof j.message === 'string' ? j.message : null;
    if (m) detail = m;
  } catch {
    // not JSON: keep the text
  }
  if (secret) detail = detail.split(secret).join('[redacted]');
  detail = detail.replace(/\b(sk|key)-[A-Za-z0-9_*.-]{6,}/g, '[redacted]');
  const flat = detail.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}…` : flat;
}

/**
 * POST JSON with per-attempt timeout and retries; returns the 2xx body text. Shared with
 * the embeddings client (src/knowledge/embeddings-client.ts). Throws an LlmError subclass.
 */
export async function postWithRetry(call: HttpCall, options: ProviderOptions): Promise<{ text: string; attempts: number }> {
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const base = options.backoffBaseMs ?? 500;
  const cap = options.backoffMaxMs ?? 8000;
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  const body = JSON.stringify(call.body);
  const logCtx = { provider: call.provider, model: call.model, url: call.url };
  let last: Error = new LlmNetworkError('no attempt made', 0);

  for (let attempt = 1; attempt <= call.maxRetries + 1; attempt++) {
    if (call.signal?.aborted) throw new LlmAbortedError(attempt - 1, String(call.signal.reason ?? ''));
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('attempt timeout')), call.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
    let status = 0;
    let text = '';
    let headers: Headers | null = null;
    try {
      const res = await fetch(call.url, { method: 'POST', headers: call.headers, body, signal });
      status = res.status;
      headers = res.headers;
      text = await res.text();
    } catch (err) {
      headers = null; // a body cut off by the timeout is a failed attempt, whatever the status
      if (call.signal?.aborted) throw new LlmAbortedError(attempt, String(call.signal.reason ?? ''));
      last = timeout.signal.aborted
        ? new LlmTimeoutError(call.timeoutMs, attempt)
        : new LlmNetworkError(err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err), attempt, err);
    } finally {
      clearTimeout(timer);
    }

    let delay: number;
    if (headers) {
      if (status >= 200 && status < 300) return { text, attempts: attempt };
      const detail = errorDetail(text, call.secret);
      last = new LlmHttpError(status, detail, attempt);
      if (status !== 429 && status < 500) throw last;
      const after = retryAfterMs(headers);
      if (after !== null && after > maxRetryAfter) {
        options.logger?.warn({ ...logCtx, status, attempt, retryAfterMs: after }, 'llm: Retry-After longer than allowed, giving up');
        throw last;
      }
      delay = after ?? Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + random() / 2);
    } else {
      delay = Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + random() / 2);
    }
    if (attempt > call.maxRetries) break;
    options.logger?.warn({ ...logCtx, attempt, status: status || undefined, error: (last as { code?: string }).code, delayMs: Math.round(delay) }, 'llm: retrying');
    try {
      await sleep(Math.round(delay), call.signal);
    } catch {
      throw new LlmAbortedError(attempt, String(call.signal?.reason ?? ''));
    }
  }
  throw last;
}

function parseJson<T>(schema: z.ZodType<T>, text: string, attempts: number): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new LlmBadResponseError('body is not JSON', attempts);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new LlmBadResponseError(z.prettifyError(parsed.error).slice(0, 300), attempts);
  return parsed.data;
}

const OpenAiResponse = z.object({
  model: z.string().optional(),
  choices: z
    .array(z.object({ message: z.object({ content: z.string().nullable().optional() }), finish_reason: z.string().nullable().optional() }))
    .min(1),
  usage: z.object({ prompt_tokens: z.number().optional(), completion_tokens: z.number().optional() }).nullable().optional(),
});

const AnthropicResponse = z.object({
  model: z.string().optional(),
  content: z.array(z.object({ type: z.string(), text: z.string().optional() })),
  stop_reason: z.string().nullable().optional(),
  usage: z
    .object({
      input_tokens: z.number().optional(),
      output_tokens: z.number().optional(),
      cache_creation_input_tokens: z.number().nullable().optional(),
      cache_read_input_tokens: z.number().nullable().optional(),
    })
    .optional(),
});

function usageOf(prompt: number | undefined, completion: number | undefined, request: LlmRequest, text: string): LlmUsage {
  if (prompt !== undefined && completion !== undefined) return { promptTokens: prompt, completionTokens: completion };
  return {
    promptTokens: prompt ?? estimateTokens(request.system + request.messages.map((m) => m.content).join('')),
    completionTokens: completion ?? estimateTokens(text),
    estimated: true,
  };
}

/**
 * OpenAI-compatible chat completions: `POST {baseUrl}/chat/completions`.
 * Azure OpenAI when `apiVersion` is set: `api-key` header and `?api-version=`.
 */
export class OpenAiCompatibleProvider implements LlmProvider {
  readonly kind = 'openai' as const;
  readonly model: string;
  readonly #config: LlmConfig;
  readonly #options: ProviderOptions;
  #jsonMode: boolean;

  constructor(config: LlmConfig, options: ProviderOptions = {}) {
    this.model = config.model;
    this.#config = config;
    this.#options = options;
    this.#jsonMode = config.jsonMode;
  }

  async complete(request: LlmRequest): Promise<LlmCompletion> {
    const c = this.#config;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (c.apiKey) {
      if (c.apiVersion) headers['api-key'] = c.apiKey;
      else headers['authorization'] = `Bearer ${c.apiKey}`;
    }
    const url = `${c.baseUrl}/chat/completions${c.apiVersion ? `?api-version=${encodeURIComponent(c.apiVersion)}` : ''}`;
    const wantJson = request.responseFormat === 'json' && this.#jsonMode;
    const body = {
      model: c.model,
      messages: [{ role: 'system', content: request.system }, ...request.messages],
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      ...(wantJson ? { response_format: { type: 'json_object' } } : {}),
    };
    const call: HttpCall = { url, headers, body, timeoutMs: c.timeoutMs, maxRetries: c.maxRetries, provider: this.kind, model: c.model };
    if (request.signal) call.signal = request.signal;
    if (c.apiKey) call.secret = c.apiKey;
    let result: { text: string; attempts: number };
    try {
      result = await postWithRetry(call, this.#options);
    } catch (err) {
      // Some compatible servers refuse response_format: drop it for good and ask once more.
      if (wantJson && err instanceof LlmHttpError && err.status === 400 && /response_format|json_object|json mode/i.test(err.detail)) {
        this.#jsonMode = false;
        this.#options.logger?.warn({ provider: this.kind, model: c.model }, 'llm: server refused response_format, continuing without it');
        return this.complete(request);
      }
      throw err;
    }
    const r = parseJson(OpenAiResponse, result.text, result.attempts);
    const choice = r.choices[0];
    const text = choice?.message.content ?? '';
    const out: LlmCompletion = {
      text,
      usage: usageOf(r.usage?.prompt_tokens, r.usage?.completion_tokens, request, text),
      model: r.model ?? c.model,
      attempts: result.attempts,
    };
    if (choice?.finish_reason) out.finishReason = choice.finish_reason;
    return out;
  }
}

/** Anthropic Messages API: `POST {baseUrl}/v1/messages` with `x-api-key` and `anthropic-version`. */
export class AnthropicProvider implements LlmProvider {
  readonly kind = 'anthropic' as const;
  readonly model: string;
  readonly #config: LlmConfig;
  readonly #options: ProviderOptions;

  constructor(config: LlmConfig, options: ProviderOptions = {}) {
    this.model = config.model;
    this.#config = config;
    this.#options = options;
  }

  async complete(request: LlmRequest): Promise<LlmCompletion> {
    const c = this.#config;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': c.apiVersion ?? '2023-06-01',
    };
    if (c.apiKey) headers['x-api-key'] = c.apiKey;
    const url = c.baseUrl.endsWith('/v1') ? `${c.baseUrl}/messages` : `${c.baseUrl}/v1/messages`;
    const body = { model: c.model, system: request.system, messages: request.messages, max_tokens: request.maxTokens, temperature: request.temperature };
    const call: HttpCall = { url, headers, body, timeoutMs: c.timeoutMs, maxRetries: c.maxRetries, provider: this.kind, model: c.model };
    if (request.signal) call.signal = request.signal;
    if (c.apiKey) call.secret = c.apiKey;
    const result = await postWithRetry(call, this.#options);
    const r = parseJson(AnthropicResponse, result.text, result.attempts);
    const text = r.content
      .filter((b) => b.type === 'text')
      .map((b) => b.text ?? '')
      .join('');
    const u = r.usage;
    const prompt = u?.input_tokens === undefined ? undefined : u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0);
    const out: LlmCompletion = { text, usage: usageOf(prompt, u?.output_tokens, request, text), model: r.model ?? c.model, attempts: result.attempts };
    if (r.stop_reason) out.finishReason = r.stop_reason;
    return out;
  }
}

/** The provider `config` names. */
export function createLlmProvider(config: LlmConfig, options: ProviderOptions = {}): LlmProvider {
  return config.provider === 'anthropic' ? new AnthropicProvider(config, options) : new OpenAiCompatibleProvider(config, options);
}
