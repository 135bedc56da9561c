/**
 * The knowledge base with the file store (the embedded default): lexical retrieval with
 * no network, embeddings from an OpenAI-compatible endpoint (the loopback fake, whose
 * deterministic model maps synonyms to one concept) fused with BM25, the embedding cache,
 * degradation to lexical when the endpoint fails, runbook relevance, and configuration.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { OpenAiEmbeddingsClient, cosine } from '../src/knowledge/embeddings-client.js';
import { EmbeddingsConfig } from '../src/knowledge/knowledge-config.js';
import { FileKnowledgeStore } from '../src/knowledge/knowledge-store.js';
import { openKnowledge } from '../src/knowledge/open-knowledge.js';
import { describeIncident, incidentQuery } from '../src/knowledge/past-incidents.js';
import { MIN_COSINE, reciprocalRankFusion, retrieveHistory, RRF_K } from '../src/knowledge/retrieve-history.js';
import { loadRunbooks } from '../src/knowledge/runbooks.js';
import { LlmConfigError } from '../src/llm/errors.js';
import type { Alert } from '../src/schemas/alert.js';
import type { Candidate } from '../src/schemas/evidence.js';
import { fakeEmbedding, startFakeLlmServer, type FakeLlmServer } from './support/fake-openai-server.js';
import { closedIncident, writeClosedIncidents, type PastIncidentSpec } from './support/past-incidents.js';
import { tempDir } from './support/temporal.js';

let llm: FakeLlmServer;
before(async () => {
  llm = await startFakeLlmServer();
});
after(async () => {
  await llm.close();
});

// A new incident: basket is killed for memory. Its words: PodOOMKilled, basket, oomkilled, heap, leak, rss.
const alerts: Alert[] = [
  { fingerprint: 'now-1', status: 'firing', labels: { alertname: 'PodOOMKilled', service: 'basket' }, annotations: { summary: 'basket oomkilled: heap leak' }, startsAt: '2026-11-21T10:00:00Z', source: 'test' },
];
const candidates: Candidate[] = [{ service: 'basket', indicator: 'rss', score: 0.9, reasons: [], findingIds: [] }];

// The same trouble in other words (no word in common with the new incident).
const SAME_IN_OTHER_WORDS: PastIncidentSpec = {
  id: 'incident-cart-memory',
  title: 'Cart ran out of memory',
  alertname: 'ContainerMemoryGrowth',
  service: 'cart',
  summary: 'memory kept growing until the container was killed',
  inferred: 'cart',
  indicator: 'mem',
};
// Shares the service name, but is about something else.
const SAME_SERVICE_OTHER_TROUBLE: PastIncidentSpec = {
  id: 'incident-basket-latency',
  title: 'basket latency',
  alertname: 'HighLatency',
  service: 'basket',
  summary: 'basket slow responses',
  inferred: 'basket',
  indicator: 'latency_p99',
};
const UNRELATED: PastIncidentSpec = {
  id: 'incident-payment-release',
  title: 'payment errors after a release',
  alertname: 'HighErrorRate',
  service: 'payment',
  summary: 'payment 5xx after deploy',
  inferred: 'payment',
  indicator: 'errors',
};

function embeddingsConfig(over: Partial<EmbeddingsConfig> = {}): EmbeddingsConfig {
  return EmbeddingsConfig.parse({ baseUrl: llm.openaiBaseUrl, model: 'fake-embed', timeoutMs: 2000, maxRetries: 0, ...over });
}

function embedder(over: Partial<EmbeddingsConfig> = {}, env: Record<string, string> = {}) {
  return new OpenAiEmbeddingsClient(embeddingsConfig(over), env, { backoffBaseMs: 10 });
}

async function corpus(): Promise<{ reportsDir: string; embeddingsDir: string }> {
  const dir = tempDir('knowledge');
  const reportsDir = join(dir, 'reports');
  await writeClosedIncidents(reportsDir, [SAME_IN_OTHER_WORDS, SAME_SERVICE_OTHER_TROUBLE, UNRELATED]);
  return { reportsDir, embeddingsDir: join(dir, 'embeddings') };
}

/** Texts sent to /embeddings since request index `from`. */
function embeddedTexts(from: number): string[] {
  return llm.requests.slice(from).filter((r) => r.route === 'embeddings').flatMap((r) => (r.body as { input: string[] }).input);
}

void test('reciprocal rank fusion adds 1/(k + rank) for each ranking a document is in', () => {
  const fused = reciprocalRankFusion([['a', 'b'], ['b', 'c']]);
  assert.equal(fused.get('a'), 1 / (RRF_K + 1));
  assert.equal(fused.get('b'), 1 / (RRF_K + 2) + 1 / (RRF_K + 1));
  assert.equal(fused.get('c'), 1 / (RRF_K + 2));
  assert.ok((fused.get('b') ?? 0) > (fused.get('a') ?? 0), 'found by both beats first in one');
});

void test('the fake embedding model puts synonyms together and other topics apart', () => {
  assert.ok(cosine(fakeEmbedding('oomkilled heap leak'), fakeEmbedding('memory oom gc')) > 0.99);
  assert.ok(cosine(fakeEmbedding('oomkilled heap leak'), fakeEmbedding('slow responses latency')) < 0.1);
});

void test('without embeddings, retrieval is lexical, in process, and makes no network call', async () => {
  const { reportsDir } = await corpus();
  const before = llm.requests.length;
  const history = await retrieveHistory({ incidentId: 'incident-now', alerts, candidates }, { store: new FileKnowledgeStore({ reportsDir }), runbooks: [] });
  assert.equal(llm.requests.length, before, 'no request anywhere');
  assert.deepEqual(history.retrieval, { store: 'file', method: 'lexical', notes: [] });
  assert.deepEqual(history.similarIncidents.map((s) => s.id), ['incident-basket-latency'], 'only the incident sharing words');
  assert.deepEqual(history.similarIncidents[0]?.matchedBy, ['lexical']);
});

void test('with embeddings, a past incident told in other words is retrieved, fused with the lexical match', async () => {
  const { reportsDir, embeddingsDir } = await corpus();
  const store = new FileKnowledgeStore({ reportsDir, embeddingsDir });
  const history = await retrieveHistory({ incidentId: 'incident-now', alerts, candidates }, { store, runbooks: [], embedder: embedder() });
  assert.equal(history.retrieval?.method, 'hybrid');
  assert.equal(history.retrieval?.embeddingModel, 'fake-embed');
  const ids = history.similarIncidents.map((s) => s.id);
  assert.ok(ids.includes('incident-cart-memory'), `the memory incident is found (got ${ids.join(', ')})`);
  assert.ok(ids.includes('incident-basket-latency'), 'the lexical match is kept');
  assert.ok(!ids.includes('incident-payment-release'), 'the unrelated one is not');
  const memory = history.similarIncidents.find((s) => s.id === 'incident-cart-memory');
  assert.deepEqual(memory?.matchedBy, ['semantic']);
  assert.equal(memory?.rootCauseService, 'cart');
  const expected = cosine(fakeEmbedding(incidentQuery({ alerts, candidates })), fakeEmbedding(describeIncident(closedIncident(SAME_IN_OTHER_WORDS))));
  assert.ok(Math.abs((memory?.similarity ?? 0) - expected) < 1e-9, 'similarity is the cosine of the two texts');
  assert.ok(expected >= MIN_COSINE);
});

void test('document embeddings are cached by content hash: later incidents and other workers embed only their query', async () => {
  const { reportsDir, embeddingsDir } = await corpus();
  const run = (store: FileKnowledgeStore) => retrieveHistory({ incidentId: 'incident-now', alerts, candidates }, { store, runbooks: [], embedder: embedder() });
  let from = llm.requests.length;
  const store = new FileKnowledgeStore({ reportsDir, embeddingsDir });
  await run(store);
  assert.equal(embeddedTexts(from).length, 4, 'the query and the three past incidents');
  from = llm.requests.length;
  const again = await run(store);
  assert.equal(embeddedTexts(from).length, 1, 'only the query');
  assert.match(again.retrieval?.notes[0] ?? '', /0 document\(s\) embedded, 3 from the cache/);
  from = llm.requests.length;
  await run(new FileKnowledgeStore({ reportsDir, embeddingsDir }));
  assert.equal(embeddedTexts(from).length, 1, 'a new process reads the cache files');
  // A past incident whose text changed is embedded again (new content, new key); the others are not.
  await writeClosedIncidents(reportsDir, [{ ...UNRELATED, title: 'payment errors after a bad release' }]);
  from = llm.requests.length;
  await run(store);
  const texts = embeddedTexts(from);
  assert.equal(texts.length, 2);
  assert.match(texts[1] ?? '', /bad release/);
});

void test('an embeddings endpoint that fails, hangs or answers nonsense degrades retrieval to lexical, and says so', async () => {
  const { reportsDir, embeddingsDir } = await corpus();
  const lexicalOnly = await retrieveHistory({ incidentId: 'incident-now', alerts, candidates }, { store: new FileKnowledgeStore({ reportsDir }), runbooks: [] });
  const cases: { script: Parameters<FakeLlmServer['scriptEmbeddings']>[0]; config?: Partial<EmbeddingsConfig>; note: RegExp }[] = [
    { script: { kind: 'status', status: 503, body: { error: { message: 'model loading' } } }, note: /llm_http: .*HTTP 503: model loading/ },
    { script: { kind: 'hang' }, config: { timeoutMs: 300 }, note: /llm_timeout/ },
    { script: { kind: 'malformed-body' }, note: /llm_bad_response/ },
  ];
  for (const c of cases) {
    llm.scriptEmbeddings(c.script);
    const history = await retrieveHistory(
      { incidentId: 'incident-now', alerts, candidates },
      { store: new FileKnowledgeStore({ reportsDir, embeddingsDir }), runbooks: [], embedder: embedder(c.config) },
    );
    assert.equal(history.retrieval?.method, 'lexical');
    assert.equal(history.retrieval?.notes.length, 1);
    assert.match(history.retrieval?.notes[0] ?? '', /semantic search unavailable \(embeddings fake-embed: .*\); lexical only/);
    assert.match(history.retrieval?.notes[0] ?? '', c.note);
    assert.deepEqual(history.similarIncidents, lexicalOnly.similarIncidents.map((s) => ({ ...s })), 'the lexical result, unchanged');
  }
  // A retry after a 429 is not a failure.
  llm.scriptEmbeddings({ kind: 'status', status: 429, headers: { 'retry-after': '0' } });
  const retried = await retrieveHistory({ incidentId: 'incident-now', alerts, candidates }, { store: new FileKnowledgeStore({ reportsDir }), runbooks: [], embedder: embedder({ maxRetries: 1 }) });
  assert.equal(retried.retrieval?.method, 'hybrid');
});

void test('the embeddings key comes from the variable the configuration names, and never appears in a note', async () => {
  const key = 'sk-embed-SECRET-0123456789';
  const e = embedder({ apiKeyEnv: 'TEST_EMBED_KEY' }, { TEST_EMBED_KEY: key });
  const from = llm.requests.length;
  await e.embed(['hello']);
  assert.equal(llm.requests[from]?.headers['authorization'], `Bearer ${key}`);
  assert.equal(llm.requests[from]?.path, '/v1/embeddings');
  // A provider that echoes the key in its error text: the note has it redacted.
  llm.scriptEmbeddings({ kind: 'status', status: 401, body: { error: { message: `invalid key ${key}` } } });
  const { reportsDir } = await corpus();
  const history = await retrieveHistory({ incidentId: 'x', alerts, candidates }, { store: new FileKnowledgeStore({ reportsDir }), runbooks: [], embedder: e });
  assert.match(history.retrieval?.notes[0] ?? '', /HTTP 401/);
  assert.doesNotMatch(JSON.stringify(history), /SECRET/);
  assert.throws(() => embedder({ apiKeyEnv: 'TEST_EMBED_KEY' }, {}), (err: unknown) => err instanceof LlmConfigError && /TEST_EMBED_KEY/.test(err.message));
});

void test('applicable runbooks are ordered by relevance to the incident, then priority; inapplicable ones never appear', async () => {
  const dir = tempDir('runbooks');
  const rb = (id: string, priority: number, services: string, symptoms: string, indicators?: string) =>
    writeFileSync(
      join(dir, `${id}.md`),
      `---\nid: ${id}\ntitle: ${id.replace(/-/g, ' ')}\nservices: ${services}\nsymptoms: ${symptoms}\n${indicators ? `when: { indicators: ${indicators} }\n` : ''}priority: ${priority}\nsteps:\n  - { action: restart, description: Restart it, risk: low }\n---\nBody.\n`,
    );
  rb('generic-restart', 100, '["*"]', '[errors]');
  rb('heap-leak-restart', 10, '["*"]', '[oomkilled, heap, leak]');
  rb('cpu-only', 1000, '["*"]', '[heap]', '[cpu]');
  rb('other-service', 1000, '[payment]', '[heap, leak]');
  const runbooks = await loadRunbooks(dir);
  const { reportsDir } = await corpus();
  const history = await retrieveHistory({ incidentId: 'x', alerts, candidates }, { store: new FileKnowledgeStore({ reportsDir }), runbooks });
  assert.deepEqual(history.runbooks.map((r) => r.id), ['heap-leak-restart', 'generic-restart'], 'the heap runbook first despite its lower priority; cpu-only and payment-only do not apply');
  assert.ok((history.runbooks[0]?.relevance ?? 0) > 0);
  assert.equal(history.runbooks[1]?.relevance, 0);
  assert.equal(history.runbooks[0]?.score, 10, 'score stays the priority');
});

void test('the knowledge section of vigil.yaml is validated, and opens the configured store and embedder', () => {
  const dataDir = tempDir('kcfg');
  const config = loadConfig({ env: {}, overrides: { dataDir, knowledge: { embeddings: { baseUrl: 'http://127.0.0.1:9/v1/', model: 'm', apiKeyEnv: 'K' } } } });
  assert.equal(config.knowledge.store, 'file');
  assert.equal(config.knowledge.embeddings?.baseUrl, 'http://127.0.0.1:9/v1', 'trailing slash dropped');
  assert.equal(config.knowledge.embeddings?.timeoutMs, 10_000);
  const k = openKnowledge(config.knowledge, dataDir, { K: 'key' });
  assert.equal(k.store.kind, 'file');
  assert.equal(k.embedder?.model, 'm');
  assert.equal(openKnowledge(loadConfig({ env: {}, overrides: { dataDir } }).knowledge, dataDir, {}).embedder, undefined, 'no embeddings unless configured');
  for (const bad of [{ store: 'sqlite' }, { embeddings: { baseUrl: 'ftp://x', model: 'm' } }, { embeddings: { baseUrl: 'http://x/v1', model: 'm', apiKeyEnv: 'sk-not-a-name' } }, { postgres: { schema: 'a;drop' } }, { stores: 'file' }]) {
    assert.throws(() => loadConfig({ env: {}, overrides: { dataDir, knowledge: bad } }), ConfigError, JSON.stringify(bad));
  }
});
