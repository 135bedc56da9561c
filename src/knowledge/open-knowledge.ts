/**
 * Opens the configured knowledge base for a worker or the CLI: the store (`knowledge.store`)
 * and, when `knowledge.embeddings` is set, the embeddings client (its key from the
 * environment variable the configuration names).
 */
import { join } from 'node:path';
import type { LlmLogger } from '../llm/provider.js';
import { OpenAiEmbeddingsClient, type Embedder } from './embeddings-client.js';
import type { KnowledgeConfig } from './knowledge-config.js';
import { FileKnowledgeStore, type KnowledgeStore } from './knowledge-store.js';
import { PostgresKnowledgeStore } from './postgres-knowledge-store.js';

export interface Knowledge {
  store: KnowledgeStore;
  embedder?: Embedder;
  similarIncidents: number;
  runbooks: number;
}

export function openKnowledgeStore(config: KnowledgeConfig, dataDir: string): KnowledgeStore {
  if (config.store === 'postgres') {
    return new PostgresKnowledgeStore({ schema: config.postgres.schema, ...(config.postgres.connectionString ? { connectionString: config.postgres.connectionString } : {}) });
  }
  return new FileKnowledgeStore({ reportsDir: join(dataDir, 'reports'), embeddingsDir: join(dataDir, 'knowledge', 'embeddings') });
}

/** Throws LlmConfigError when the embeddings key variable is named but unset. */
export function openKnowledge(config: KnowledgeConfig, dataDir: string, env: Record<string, string | undefined>, logger?: LlmLogger): Knowledge {
  const embedder = config.embeddings ? new OpenAiEmbeddingsClient(config.embeddings, env, logger ? { logger } : {}) : undefined;
  return { store: openKnowledgeStore(config, dataDir), ...(embedder ? { embedder } : {}), similarIncidents: config.similarIncidents, runbooks: config.runbooks };
}
