/**
 * A client for an OpenAI-compatible embeddings API (`POST {baseUrl}/embeddings` with
 * `{model, input: string[]}`; OpenAI, Azure, vLLM, Ollama, LiteLLM, text-embeddings-inference
 * in OpenAI mode). Batched, per-attempt timeout, retries on 429/5xx/network errors/timeouts
 * (the LLM client's transport, src/llm/provider.ts). The key is read from the environment
 * variable the configuration names and never logged or thrown.
 */
import { z } from 'zod';
import { LlmBadResponseError, LlmConfigError } from '../llm/errors.js';
import { postWithRetry, type LlmLogger, type ProviderOptions } from '../llm/provider.js';
import type { EmbeddingsConfig } from './knowledge-config.js';

export interface Embedder {
  /** The model whose vectors these are (part of every cache key). */
  readonly model: string;
  /** One unit-length vector per text, in order. Throws an LlmError subclass on failure. */
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

const EmbeddingsResponse = z.object({
  data: z.array(z.object({ index: z.number().int().min(0).optional(), embedding: z.array(z.number()).min(1) })),
});

/** Scales a vector to unit length (a zero vector stays zero). */
export function normalize(v: readonly number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return n === 0 ? v.map(() => 0) : v.map((x) => x / n);
}

/** Cosine similarity of two vectors (0 when either is zero or their lengths differ). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

export class OpenAiEmbeddingsClient implements Embedder {
  readonly model: string;
  readonly #config: EmbeddingsConfig;
  readonly #apiKey: string | undefined;
  readonly #options: ProviderOptions;

  /** Throws LlmConfigError when the configured key variable is named but empty. */
  constructor(config: EmbeddingsConfig, env: Record<string, string | undefined>, options: ProviderOptions & { logger?: LlmLogger } = {}) {
    this.model = config.model;
    this.#config = config;
    if (config.apiKeyEnv) {
      const key = env[config.apiKeyEnv]?.trim();
      if (!key) throw new LlmConfigError(`knowledge.embeddings.apiKeyEnv names ${config.apiKeyEnv}, which is not set`);
      this.#apiKey = key;
    }
    this.#options = options;
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const out: number[][] = [];
    const c = this.#config;
    for (let i = 0; i < texts.length; i += c.batchSize) {
      const batch = texts.slice(i, i + c.batchSize).map((t) => (t.length > c.maxChars ? t.slice(0, c.maxChars) : t) || ' ');
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}) };
      const { text, attempts } = await postWithRetry(
        {
          url: `${c.baseUrl}/embeddings`,
          headers,
          body: { model: c.model, input: batch },
          timeoutMs: c.timeoutMs,
          maxRetries: c.maxRetries,
          provider: 'embeddings',
          model: c.model,
          ...(this.#apiKey ? { secret: this.#apiKey } : {}),
          ...(signal ? { signal } : {}),
        },
        this.#options,
      );
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new LlmBadResponseError('embeddings response is not JSON', attempts);
      }
      const parsed = EmbeddingsResponse.safeParse(json);
      if (!parsed.success) throw new LlmBadResponseError(`embeddings response: ${z.prettifyError(parsed.error).slice(0, 300)}`, attempts);
      if (parsed.data.data.length !== batch.length) throw new LlmBadResponseError(`embeddings response has ${parsed.data.data.length} vectors for ${batch.length} inputs`, attempts);
      const ordered = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
      const dim = ordered[0]?.embedding.length ?? 0;
      if (ordered.some((d) => d.embedding.length !== dim)) throw new LlmBadResponseError('embeddings response mixes vector lengths', attempts);
      if (dim !== (out[0]?.length ?? dim)) throw new LlmBadResponseError('embeddings response changed vector length between batches', attempts);
      out.push(...ordered.map((d) => normalize(d.embedding)));
    }
    return out;
  }
}
