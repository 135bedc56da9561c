/**
 * The knowledge base's configuration (`knowledge:` in vigil.yaml): where past incidents
 * are kept and searched (the report files under dataDir, or PostgreSQL for teams that
 * run several workers), and, optionally, an OpenAI-compatible embeddings endpoint whose
 * semantic ranking is fused with the lexical one. Without `embeddings`, retrieval is
 * lexical only and makes no network call.
 *
 * ```yaml
 * knowledge:
 *   store: postgres
 *   postgres: { connectionString: postgres://vigil@db/vigil, schema: vigil_knowledge }
 *   embeddings:
 *     baseUrl: http://localhost:11434/v1      # /embeddings is appended
 *     model: nomic-embed-text
 *     apiKeyEnv: VIGIL_EMBEDDINGS_API_KEY     # the variable's name; its value is the key
 *     timeoutMs: 10000
 *     maxRetries: 2
 * ```
 */
import { z } from 'zod';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export const EmbeddingsConfig = z.object({
  baseUrl: z
    .url({ protocol: /^https?$/ })
    .transform((u) => u.replace(/\/+$/, ''))
    .describe('OpenAI-compatible API base: /embeddings is appended (e.g. https://api.openai.com/v1, http://localhost:11434/v1)'),
  model: z.string().min(1).describe('embedding model, e.g. text-embedding-3-small or nomic-embed-text'),
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .optional()
    .describe('name of the environment variable holding the API key (never the key itself); unset: no Authorization header'),
  /** Per-attempt timeout. @default 10000 */
  timeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Retries after the first attempt (429, 5xx, network errors, timeouts). @default 2 */
  maxRetries: z.number().int().min(0).max(10).default(2),
  /** Texts per request. @default 64 */
  batchSize: z.number().int().min(1).max(2048).default(64),
  /** Characters of a document that are embedded (the rest is cut). @default 8000 */
  maxChars: z.number().int().min(100).max(200_000).default(8000),
});
export type EmbeddingsConfig = z.infer<typeof EmbeddingsConfig>;

export const KnowledgeConfig = z
  .object({
    store: z.enum(['file', 'postgres']).default('file').describe('file: the JSON reports under <dataDir>/reports (the embedded default); postgres: shared by several workers'),
    postgres: z
      .object({
        connectionString: z.string().min(1).optional().describe('default: the PG* environment variables'),
        schema: z.string().regex(IDENT, 'a plain SQL identifier').default('vigil_knowledge').describe('schema of the knowledge tables (created if missing)'),
      })
      .default({ schema: 'vigil_knowledge' }),
    embeddings: EmbeddingsConfig.optional().describe('semantic retrieval fused with the lexical one; absent: lexical only, no network'),
    /** Similar past incidents kept per incident. @default 3 */
    similarIncidents: z.number().int().min(1).max(50).default(3),
    /** Matching runbooks kept per incident. @default 5 */
    runbooks: z.number().int().min(1).max(50).default(5),
  })
  .strict();
export type KnowledgeConfig = z.infer<typeof KnowledgeConfig>;

export const DEFAULT_KNOWLEDGE_CONFIG: KnowledgeConfig = { store: 'file', postgres: { schema: 'vigil_knowledge' }, similarIncidents: 3, runbooks: 5 };
