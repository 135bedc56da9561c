/**
 * Retrieval of the similar past incidents and matching runbooks of a new incident.
 *
 * Lexical (the store's BM25 or full-text rank) always; with an embedder configured, also
 * semantic (cosine similarity of embeddings, document vectors cached by content hash in
 * the store), the two rankings fused by reciprocal rank fusion:
 *   fused(d) = Σ over rankings r that contain d of 1 / (RRF_K + rank_r(d)),  RRF_K = 60.
 * An embeddings failure (endpoint down, timeout, bad answer, deadline) never fails the
 * incident: retrieval falls back to lexical and `History.retrieval.notes` says so.
 *
 * Runbooks must first apply to a leading candidate (their front matter: services,
 * indicators, recent deploy); relevance then orders the applicable ones, priority breaks ties.
 *
 * `similarity` of a past incident: its cosine similarity when embeddings were used,
 * else the lexical score (BM25 or ts_rank).
 */
import type { Alert } from '../schemas/alert.js';
import type { Candidate } from '../schemas/evidence.js';
import type { History, IncidentStatus, RetrievalMethod, RunbookMatch, SimilarIncident } from '../schemas/incident.js';
import { LlmError } from '../llm/errors.js';
import { cosine, type Embedder } from './embeddings-client.js';
import { bm25RunbookScores, describeRunbook, embeddingKey, type KnowledgeStore, type ScoredIncident } from './knowledge-store.js';
import { describeIncident, incidentQuery, toSimilarIncident } from './past-incidents.js';
import { runbookApplies, type Runbook } from './runbooks.js';

/** The RRF constant (Cormack et al., 2009). */
export const RRF_K = 60;
/** Past incidents considered for semantic ranking (newest first). */
export const SEMANTIC_CORPUS_LIMIT = 2000;
/** Below this cosine similarity a document is not a semantic match. */
export const MIN_COSINE = 0.3;

export interface RetrieveHistoryInput {
  incidentId: string;
  alerts: Alert[];
  /** The leading candidates. */
  candidates: Candidate[];
}

export interface RetrieveHistoryDeps {
  store: KnowledgeStore;
  runbooks: Runbook[];
  embedder?: Embedder;
  /** @default 3 */
  similarIncidents?: number;
  /** @default 5 */
  runbookLimit?: number;
  /** Semantic retrieval (all embedding calls) must finish within this, else lexical only. @default 20000 */
  semanticDeadlineMs?: number;
  signal?: AbortSignal;
  logger?: { warn(obj: Record<string, unknown>, msg: string): void };
}

/** Reciprocal rank fusion of ranked id lists (best first). Ties: first seen order. */
export function reciprocalRankFusion(rankings: string[][], k = RRF_K): Map<string, number> {
  const out = new Map<string, number>();
  for (const ranking of rankings) ranking.forEach((id, i) => out.set(id, (out.get(id) ?? 0) + 1 / (k + i + 1)));
  return out;
}

function describeError(err: unknown): string {
  if (err instanceof LlmError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** Cosine similarity of each document to the query, from cached or fresh embeddings. */
async function semanticScores(
  docs: { id: string; text: string }[],
  query: string,
  store: KnowledgeStore,
  embedder: Embedder,
  signal: AbortSignal,
): Promise<{ scores: Map<string, number>; embedded: number; cached: number }> {
  const keyed = docs.map((d) => ({ ...d, key: embeddingKey(embedder.model, d.text) }));
  const cached = await store.getEmbeddings(keyed.map((d) => d.key));
  const missing = [...new Map(keyed.filter((d) => !cached.has(d.key)).map((d) => [d.key, d])).values()];
  const [queryVector, ...fresh] = await embedder.embed([query, ...missing.map((d) => d.text)], signal);
  if (!queryVector) throw new Error('the embeddings endpoint returned no vector for the query');
  await store.putEmbeddings(missing.map((d, i) => ({ key: d.key, model: embedder.model, vector: fresh[i] ?? [] })).filter((e) => e.vector.length > 0));
  missing.forEach((d, i) => {
    const v = fresh[i];
    if (v) cached.set(d.key, v);
  });
  const scores = new Map<string, number>();
  for (const d of keyed) {
    const v = cached.get(d.key);
    if (v && v.length !== queryVector.length) throw new Error(`cached embedding of ${d.id} has ${v.length} dimensions, the query ${queryVector.length}: was the model changed without a new name?`);
    scores.set(d.id, v ? cosine(queryVector, v) : 0);
  }
  return { scores, embedded: missing.length, cached: keyed.length - missing.length };
}

export async function retrieveHistory(input: RetrieveHistoryInput, deps: RetrieveHistoryDeps): Promise<History> {
  const { store, embedder } = deps;
  const limit = deps.similarIncidents ?? 3;
  const runbookLimit = deps.runbookLimit ?? 5;
  const query = incidentQuery(input);
  const notes: string[] = [];

  // ---- lexical (an unreachable store: no past incidents, runbooks ranked in process) ----
  let storeError: string | undefined;
  let lexical: ScoredIncident[] = [];
  try {
    lexical = await store.searchIncidents(query, { limit: Math.max(limit * 4, 20), excludeId: input.incidentId });
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    storeError = describeError(err);
  }
  const applicable = deps.runbooks.filter((rb) =>
    input.candidates.some((c) => runbookApplies(rb, c.service, c.indicator, false) || runbookApplies(rb, c.service, c.indicator, true)),
  );
  let runbookLexical: Map<string, number>;
  try {
    runbookLexical = storeError === undefined ? await store.rankRunbooks(applicable, query) : bm25RunbookScores(applicable, query);
  } catch (err) {
    if (deps.signal?.aborted) throw err;
    storeError = describeError(err);
    runbookLexical = bm25RunbookScores(applicable, query);
  }
  if (storeError !== undefined) {
    notes.push(`retrieval: the knowledge store (${store.location}) is unavailable (${storeError}): no past incidents; runbooks ranked from local files`);
    deps.logger?.warn({ store: store.location, error: storeError }, 'knowledge: store unavailable');
  }

  // ---- semantic (configured): degrade to lexical on any failure ----
  let method: RetrievalMethod = 'lexical';
  let incidentCosine: Map<string, number> | undefined;
  let runbookCosine: Map<string, number> | undefined;
  const past = new Map<string, IncidentStatus>(lexical.map((h) => [h.incident.incidentId, h.incident]));
  if (embedder && storeError === undefined) {
    const deadline = AbortSignal.timeout(deps.semanticDeadlineMs ?? 20_000);
    const signal = deps.signal ? AbortSignal.any([deps.signal, deadline]) : deadline;
    try {
      const corpus = await store.listIncidents({ limit: SEMANTIC_CORPUS_LIMIT, excludeId: input.incidentId });
      for (const p of corpus) if (!past.has(p.incidentId)) past.set(p.incidentId, p);
      const docs = [
        ...corpus.map((p) => ({ id: `incident:${p.incidentId}`, text: describeIncident(p) })),
        ...applicable.map((rb) => ({ id: `runbook:${rb.id}`, text: describeRunbook(rb) })),
      ];
      const { scores, embedded, cached } = await semanticScores(docs, query, store, embedder, signal);
      incidentCosine = new Map(corpus.map((p) => [p.incidentId, scores.get(`incident:${p.incidentId}`) ?? 0]));
      runbookCosine = new Map(applicable.map((rb) => [rb.id, scores.get(`runbook:${rb.id}`) ?? 0]));
      method = 'hybrid';
      notes.push(`retrieval: lexical and semantic (embeddings ${embedder.model}; ${embedded} document(s) embedded, ${cached} from the cache), fused by reciprocal rank`);
    } catch (err) {
      if (deps.signal?.aborted) throw err;
      const why = deadline.aborted ? `no answer within ${deps.semanticDeadlineMs ?? 20_000} ms` : describeError(err);
      notes.push(`retrieval: semantic search unavailable (embeddings ${embedder.model}: ${why}); lexical only`);
      deps.logger?.warn({ model: embedder.model, error: why }, 'knowledge: embeddings failed, lexical retrieval only');
    }
  }

  // ---- past incidents ----
  const lexicalIds = lexical.map((h) => h.incident.incidentId);
  const lexicalScore = new Map(lexical.map((h) => [h.incident.incidentId, h.score]));
  let similarIncidents: SimilarIncident[];
  if (incidentCosine) {
    const semanticIds = [...incidentCosine.entries()].filter(([, c]) => c >= MIN_COSINE).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
    const fused = reciprocalRankFusion([lexicalIds, semanticIds]);
    const semanticSet = new Set(semanticIds);
    similarIncidents = [...fused.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .flatMap(([id]) => {
        const p = past.get(id);
        if (!p) return [];
        const matchedBy = [...(lexicalScore.has(id) ? (['lexical'] as const) : []), ...(semanticSet.has(id) ? (['semantic'] as const) : [])];
        return [toSimilarIncident(p, Math.max(0, incidentCosine?.get(id) ?? 0), { matchedBy })];
      });
  } else {
    similarIncidents = lexical.slice(0, limit).map((h) => toSimilarIncident(h.incident, h.score, { matchedBy: ['lexical'] }));
  }

  // ---- runbooks: applicable ones, by relevance, then priority ----
  const byPriority = (a: Runbook, b: Runbook) => b.priority - a.priority || (a.id < b.id ? -1 : 1);
  const lexicalRunbookIds = applicable.filter((rb) => (runbookLexical.get(rb.id) ?? 0) > 0).sort((a, b) => (runbookLexical.get(b.id) ?? 0) - (runbookLexical.get(a.id) ?? 0) || byPriority(a, b)).map((rb) => rb.id);
  const rankings = [lexicalRunbookIds];
  if (runbookCosine) {
    rankings.push(applicable.filter((rb) => (runbookCosine?.get(rb.id) ?? 0) >= MIN_COSINE).sort((a, b) => (runbookCosine?.get(b.id) ?? 0) - (runbookCosine?.get(a.id) ?? 0) || byPriority(a, b)).map((rb) => rb.id));
  }
  const relevance = reciprocalRankFusion(rankings);
  const runbooks: RunbookMatch[] = [...applicable]
    .sort((a, b) => (relevance.get(b.id) ?? 0) - (relevance.get(a.id) ?? 0) || byPriority(a, b))
    .slice(0, runbookLimit)
    .map((rb) => ({ id: rb.id, title: rb.title, path: rb.path, score: rb.priority, relevance: Number((relevance.get(rb.id) ?? 0).toFixed(6)), steps: rb.steps }));

  return { similarIncidents, runbooks, retrieval: { store: store.kind, method, ...(embedder ? { embeddingModel: embedder.model } : {}), notes } };
}
