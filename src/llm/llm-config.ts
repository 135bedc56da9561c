/**
 * LLM configuration from the environment (VIGIL_LLM_*), zod-validated. `loadLlmConfig`
 * returns null when no LLM is configured: vigil then uses the built-in reasoner only.
 * The API key lives only in the returned object; `describeLlmConfig` is what may be logged.
 */
import { z } from 'zod';
import { LlmConfigError } from './errors.js';

export const LlmProviderKind = z.enum(['openai', 'anthropic']);
export type LlmProviderKind = z.infer<typeof LlmProviderKind>;

const DEFAULT_BASE_URL: Record<LlmProviderKind, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const LlmConfig = z.object({
  provider: LlmProviderKind.describe('openai: any OpenAI-compatible chat-completions API (OpenAI, Azure, vLLM, Ollama, LiteLLM); anthropic: the Messages API'),
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .describe('openai: the URL that /chat/completions is appended to (e.g. http://localhost:11434/v1); anthropic: the host, /v1/messages is appended'),
  model: z.string().min(1),
  /** Optional: local servers (Ollama, vLLM) often need none. Never logged. */
  apiKey: z.string().min(1).optional(),
  /**
   * openai: Azure OpenAI's `api-version`; when set the key is sent as `api-key` and the
   * version as a query parameter. anthropic: the `anthropic-version` header.
   */
  apiVersion: z.string().min(1).optional(),
  /** Per-attempt timeout. @default 30000 */
  timeoutMs: intFrom(100, 600_000).default(30_000),
  /** Retries after the first attempt (429, 5xx, network errors, timeouts). @default 2 */
  maxRetries: intFrom(0, 10).default(2),
  /** Token budget (prompt + completion, all calls) for one incident. @default 40000 */
  maxTokensPerIncident: intFrom(500, 10_000_000).default(40_000),
  /** Upper bound on the completion of one call. @default 1500 */
  maxOutputTokens: intFrom(64, 100_000).default(1500),
  /** openai: send `response_format: {type: "json_object"}` (dropped automatically if the server refuses it). @default true */
  jsonMode: z.boolean().default(true),
});
export type LlmConfig = z.infer<typeof LlmConfig>;

const ENV_KEYS = {
  provider: 'VIGIL_LLM_PROVIDER',
  baseUrl: 'VIGIL_LLM_BASE_URL',
  model: 'VIGIL_LLM_MODEL',
  apiKey: 'VIGIL_LLM_API_KEY',
  apiVersion: 'VIGIL_LLM_API_VERSION',
  timeoutMs: 'VIGIL_LLM_TIMEOUT_MS',
  maxRetries: 'VIGIL_LLM_MAX_RETRIES',
  maxTokensPerIncident: 'VIGIL_LLM_MAX_TOKENS_PER_INCIDENT',
  maxOutputTokens: 'VIGIL_LLM_MAX_OUTPUT_TOKENS',
  jsonMode: 'VIGIL_LLM_JSON_MODE',
} as const satisfies Record<keyof LlmConfig, string>;

/** The environment variables `loadLlmConfig` reads, by config field. */
export const LLM_ENV_KEYS: Readonly<Record<keyof LlmConfig, string>> = ENV_KEYS;

/**
 * The LLM configuration in `env`, or null when VIGIL_LLM_PROVIDER is unset or empty and
 * no other VIGIL_LLM_* variable is set. Throws LlmConfigError (naming the variables, never
 * their values) when the variables are set but invalid or incomplete.
 */
export function loadLlmConfig(env: Record<string, string | undefined>): LlmConfig | null {
  const get = (k: keyof typeof ENV_KEYS): string | undefined => {
    const v = env[ENV_KEYS[k]]?.trim();
    return v ? v : undefined;
  };
  const provider = get('provider');
  if (!provider) {
    const stray = Object.values(ENV_KEYS).filter((k) => env[k]?.trim());
    if (stray.length === 0) return null;
    throw new LlmConfigError(`${stray.join(', ')} set but ${ENV_KEYS.provider} is not: set it to openai or anthropic, or unset the others`);
  }
  const jsonMode = get('jsonMode');
  const raw = {
    provider: provider.toLowerCase(),
    baseUrl: (get('baseUrl') ?? (provider.toLowerCase() in DEFAULT_BASE_URL ? DEFAULT_BASE_URL[provider.toLowerCase() as LlmProviderKind] : '')).replace(/\/+$/, ''),
    model: get('model'),
    apiKey: get('apiKey'),
    apiVersion: get('apiVersion'),
    timeoutMs: get('timeoutMs'),
    maxRetries: get('maxRetries'),
    maxTokensPerIncident: get('maxTokensPerIncident'),
    maxOutputTokens: get('maxOutputTokens'),
    jsonMode: jsonMode === undefined ? undefined : !/^(0|false|no|off)$/i.test(jsonMode),
  };
  const parsed = LlmConfig.safeParse(raw);
  if (!parsed.success) {
    // Name the variable of each issue; never echo a value (the key is one of them).
    const lines = parsed.error.issues.map((i) => {
      const field = i.path[0] as keyof typeof ENV_KEYS | undefined;
      return `${field ? ENV_KEYS[field] : 'VIGIL_LLM_*'}: ${i.message}`;
    });
    throw new LlmConfigError(`invalid LLM configuration:\n  ${lines.join('\n  ')}`);
  }
  if (parsed.data.provider === 'anthropic' && !parsed.data.apiKey) throw new LlmConfigError(`${ENV_KEYS.apiKey}: required for the anthropic provider`);
  return parsed.data;
}

/** The configuration without its secret, for logs and reports. */
export function describeLlmConfig(config: LlmConfig): Omit<LlmConfig, 'apiKey'> & { apiKey: 'set' | 'unset' } {
  const { apiKey, ...rest } = config;
  return { ...rest, apiKey: apiKey ? 'set' : 'unset' };
}
