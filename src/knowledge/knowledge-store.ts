/**
 * Where the knowledge base lives: past incidents (closed incidents' reports, with their
 * confirmed root cause), the runbook index, and the cache of document embeddings keyed by
 * content hash. Two stores: FileKnowledgeStore (the JSON reports under <dataDir>/reports,
 * BM25 in process, embeddings as files: the embedded default) and PostgresKnowledgeStore
 * (postgres-knowledge-store.ts: full-text search, shared by several workers).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { reportFileBase } from '../report/report-store.js';
import { IncidentStatus } from '../schemas/incident.js';
import { bm25Search } from './bm25.js';
import { describeIncident, loadPastIncidents } from './past-incidents.js';
import type { Runbook } from './runbooks.js';

export interface ScoredIncident {
  incident: IncidentStatus;
  /** The store's lexical score (BM25, or PostgreSQL ts_rank): higher is more similar. */
  score: number;
}

export interface ListIncidentsOptions {
  limit: number;
  excludeId?: string;
  closedSince?: string;
}

export interface KnowledgeStore {
  readonly kind: 'file' | 'postgres';
  /** For notes and logs (never carries credentials). */
  readonly location: string;
  /** Adds or replaces a closed incident's entry (its report, with any feedback). */
  putIncident(report: IncidentStatus): Promise<void>;
  /** One closed incident's entry, or null. */
  getIncident(incidentId: string): Promise<IncidentStatus | null>;
  /** Closed past incidents ranked lexically against `query`, best first; only those that match. */
  searchIncidents(query: string, opts: { limit: number; excludeId?: string }): Promise<ScoredIncident[]>;
  /**
   * Closed past incidents, newest first (by close time: the last timeline entry), at most
   * `limit`; with `closedSince` (ISO time) only those closed at or after it. For semantic
   * ranking and the diagnosis-accuracy SLIs (src/observability/accuracy-monitor.ts).
   */
  listIncidents(opts: ListIncidentsOptions): Promise<IncidentStatus[]>;
  /** Lexical scores of these runbooks against `query` (0 = no match), by runbook id. */
  rankRunbooks(runbooks: Runbook[], query: string): Promise<Map<string, number>>;
  /** Cached embeddings by key (see embeddingKey); missing keys are absent. */
  getEmbeddings(keys: string[]): Promise<Map<string, number[]>>;
  putEmbeddings(entries: { key: string; model: string; vector: number[] }[]): Promise<void>;
  close(): Promise<void>;
}

/** The cache key of a document's embedding: sha256 of the model and the exact text embedded. */
export function embeddingKey(model: string, text: string): string {
  return createHash('sha256').update(model).update('\u0000').update(text).digest('hex');
}

/** The text a runbook is searched by. */
export function describeRunbook(rb: Runbook): string {
  return [rb.title, rb.services.filter((s) => s !== '*').join(' '), rb.symptoms.join(' '), (rb.when.indicators ?? []).join(' '), rb.steps.map((s) => `${s.action} ${s.description}`).join(' '), rb.body].join('\n');
}

/** BM25 scores of runbooks against `query` (0 = no match), in process. */
export function bm25RunbookScores(runbooks: Runbook[], query: string): Map<string, number> {
  const hits = new Map(bm25Search(runbooks.map((rb) => ({ id: rb.id, text: describeRunbook(rb) })), query, { limit: runbooks.length }).map((h) => [h.id, h.score]));
  return new Map(runbooks.map((rb) => [rb.id, hits.get(rb.id) ?? 0]));
}

const KEY = /^[0-9a-f]{64}$/;
/** Embeddings kept in memory per store (oldest dropped first). */
export const EMBEDDING_MEMORY_ENTRIES = 5000;

/** Remembers `vector` under `key`, dropping the oldest entries past the cap. */
export function remember(memory: Map<string, number[]>, key: string, vector: number[]): void {
  memory.delete(key);
  memory.set(key, vector);
  while (memory.size > EMBEDDING_MEMORY_ENTRIES) {
    const oldest = memory.keys().next().value;
    if (oldest === undefined) break;
    memory.delete(oldest);
  }
}

/**
 * The embedded default: the reports directory is the store (the report written when an
 * incident closes is its entry; `vigil close` labels it in place), BM25 in process, and
 * embeddings cached as one file per key under `embeddingsDir` (written atomically, so
 * several workers on one data directory share them) plus an in-memory copy.
 */
export class FileKnowledgeStore implements KnowledgeStore {
  readonly kind = 'file' as const;
  readonly location: string;
  private readonly reportsDir: string;
  private readonly embeddingsDir: string | undefined;
  private readonly memory = new Map<string, number[]>();

  constructor(opts: { reportsDir: string; embeddingsDir?: string }) {
    this.reportsDir = opts.reportsDir;
    this.embeddingsDir = opts.embeddingsDir;
    this.location = `files ${opts.reportsDir}`;
  }

  /** The report file written at close is the entry: nothing more to add. */
  async putIncident(): Promise<void> {}

  async getIncident(incidentId: string): Promise<IncidentStatus | null> {
    try {
      const parsed = IncidentStatus.safeParse(JSON.parse(await readFile(join(this.reportsDir, `${reportFileBase(incidentId)}.json`), 'utf8')));
      return parsed.success && parsed.data.stage === 'closed' ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async searchIncidents(query: string, opts: { limit: number; excludeId?: string }): Promise<ScoredIncident[]> {
    const past = await loadPastIncidents(this.reportsDir, opts.excludeId);
    const byId = new Map(past.map((p) => [p.incidentId, p]));
    return bm25Search(past.map((p) => ({ id: p.incidentId, text: describeIncident(p) })), query, { limit: opts.limit }).flatMap((hit) => {
      const incident = byId.get(hit.id);
      return incident ? [{ incident, score: hit.score }] : [];
    });
  }

  async listIncidents(opts: ListIncidentsOptions): Promise<IncidentStatus[]> {
    const past = await loadPastIncidents(this.reportsDir, opts.excludeId, opts.closedSince === undefined ? {} : { closedSince: opts.closedSince });
    const closedAt = (p: IncidentStatus) => p.timeline[p.timeline.length - 1]?.at ?? '';
    return past.sort((a, b) => (closedAt(b) < closedAt(a) ? -1 : closedAt(b) > closedAt(a) ? 1 : 0)).slice(0, opts.limit);
  }

  rankRunbooks(runbooks: Runbook[], query: string): Promise<Map<string, number>> {
    return Promise.resolve(bm25RunbookScores(runbooks, query));
  }

  private pathOf(key: string): string | undefined {
    return this.embeddingsDir && KEY.test(key) ? join(this.embeddingsDir, key.slice(0, 2), `${key}.json`) : undefined;
  }

  async getEmbeddings(keys: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for (const key of keys) {
      const mem = this.memory.get(key);
      if (mem) {
        out.set(key, mem);
        continue;
      }
      const path = this.pathOf(key);
      if (!path) continue;
      try {
        const v = (JSON.parse(await readFile(path, 'utf8')) as { vector?: unknown }).vector;
        if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number')) {
          remember(this.memory, key, v as number[]);
          out.set(key, v as number[]);
        }
      } catch {
        // not cached (or unreadable: recomputed and rewritten)
      }
    }
    return out;
  }

  async putEmbeddings(entries: { key: string; model: string; vector: number[] }[]): Promise<void> {
    for (const e of entries) {
      remember(this.memory, e.key, e.vector);
      const path = this.pathOf(e.key);
      if (!path) continue;
      await mkdir(join(path, '..'), { recursive: true });
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, JSON.stringify({ model: e.model, vector: e.vector }));
      await rename(tmp, path);
    }
  }

  async close(): Promise<void> {}
}
