/**
 * The PostgreSQL knowledge store on the real local PostgreSQL (127.0.0.1:5432, database
 * `test`, user `postgres`, or $VIGIL_TEST_PG_URL): migrations, full-text retrieval,
 * embeddings cached in the database and shared by workers, degradation when the database
 * is unreachable, and the end-to-end path: a worker adds each closed incident, `vigil
 * close` labels it, and the next incident retrieves it with the label. Each run works in
 * its own schemas, dropped afterwards. Skipped when PostgreSQL is not there.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { stringify } from 'yaml';
import { createActivities } from '../activities/index.js';
import { simulateIncident } from '../src/dev/simulate-incident.js';
import { OpenAiEmbeddingsClient } from '../src/knowledge/embeddings-client.js';
import { EmbeddingsConfig } from '../src/knowledge/knowledge-config.js';
import { PostgresKnowledgeStore } from '../src/knowledge/postgres-knowledge-store.js';
import { retrieveHistory } from '../src/knowledge/retrieve-history.js';
import { loadRunbooks } from '../src/knowledge/runbooks.js';
import { readAccuracySlis } from '../src/observability/accuracy-monitor.js';
import { DEFAULT_RUNBOOKS_DIR } from '../src/config.js';
import type { Alert } from '../src/schemas/alert.js';
import type { Candidate } from '../src/schemas/evidence.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { startFakeLlmServer, type FakeLlmServer } from './support/fake-openai-server.js';
import { incidentResult, startIncidentHarness, type IncidentHarness } from './support/incident-harness.js';
import { closedIncident, type PastIncidentSpec } from './support/past-incidents.js';
import { writePolicy } from './support/policy-files.js';
import { tempDir } from './support/temporal.js';

installTemporalRuntime();

const PG_URL = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const PREFIX = `vigil_knowledge_test_${randomBytes(4).toString('hex')}`;
let admin: pg.Pool | undefined;
let available = false;
let schemas = 0;
const stores: PostgresKnowledgeStore[] = [];
let llm: FakeLlmServer;

before(async () => {
  llm = await startFakeLlmServer();
  admin = new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 3000 });
  try {
    await admin.query('SELECT 1');
    available = true;
  } catch {
    available = false;
  }
});

after(async () => {
  for (const s of stores) await s.close().catch(() => undefined);
  if (available) {
    for (let i = 1; i <= schemas; i++) await admin?.query(`DROP SCHEMA IF EXISTS "${PREFIX}_${i}" CASCADE`);
  }
  await admin?.end();
  await llm.close();
});

function pgTest(name: string, fn: () => Promise<void>): void {
  void test(name, async (t) => {
    if (!available) {
      t.skip(`PostgreSQL not reachable at ${PG_URL}`);
      return;
    }
    await fn();
  });
}

function newSchema(): string {
  schemas += 1;
  return `${PREFIX}_${schemas}`;
}

function store(schema: string): PostgresKnowledgeStore {
  const s = new PostgresKnowledgeStore({ connectionString: PG_URL, schema });
  stores.push(s);
  return s;
}

const alerts: Alert[] = [
  { fingerprint: 'now', status: 'firing', labels: { alertname: 'PodOOMKilled', service: 'basket' }, annotations: { summary: 'basket oomkilled: heap leak' }, startsAt: '2026-11-21T10:00:00Z', source: 'test' },
];
const candidates: Candidate[] = [{ service: 'basket', indicator: 'rss', score: 0.9, reasons: [], findingIds: [] }];

const PAST: PastIncidentSpec[] = [
  { id: 'inc-pool', title: 'Checkout connections exhausted', alertname: 'HighErrorRate', service: 'checkout', summary: 'timeouts acquiring a database connection', inferred: 'checkout', indicator: 'db_connections' },
  { id: 'inc-memory', title: 'Cart ran out of memory', alertname: 'ContainerMemoryGrowth', service: 'cart', summary: 'memory kept growing until the container was killed', inferred: 'cart', indicator: 'mem', closedAt: '2026-11-02T10:00:00.000Z' },
  { id: 'inc-basket', title: 'basket latency', alertname: 'HighLatency', service: 'basket', summary: 'basket slow responses', inferred: 'basket', indicator: 'latency_p99', closedAt: '2026-11-03T10:00:00.000Z' },
];

pgTest('the schema is created by migrations, once, even when several workers start at the same moment', async () => {
  const schema = newSchema();
  const a = store(schema);
  const b = store(schema);
  await Promise.all([a.init(), b.init()]);
  assert.equal(await a.schemaVersion(), 1);
  const versions = await admin?.query(`SELECT version FROM "${schema}".schema_migrations`);
  assert.deepEqual(versions?.rows.map((r: { version: number }) => r.version), [1], 'each migration recorded once');
  await store(schema).init(); // a later start changes nothing
  const tables = await admin?.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema]);
  assert.deepEqual(tables?.rows.map((r: { table_name: string }) => r.table_name), ['embeddings', 'incidents', 'runbooks', 'schema_migrations']);
});

pgTest('closed incidents are found by full-text search (stemmed), re-adding replaces them, and the commander label wins', async () => {
  const schema = newSchema();
  const s = store(schema);
  for (const p of PAST) await s.putIncident(closedIncident(p));
  const hits = await s.searchIncidents('connection pool exhaustion on checkout', { limit: 5 });
  assert.equal(hits[0]?.incident.incidentId, 'inc-pool', '"connection" matches "connections" and "exhaustion" matches "exhausted"');
  assert.ok((hits[0]?.score ?? 0) > 0);
  assert.deepEqual(await s.searchIncidents('connection pool exhaustion on checkout', { limit: 5, excludeId: 'inc-pool' }), []);
  assert.deepEqual(await s.searchIncidents('; DROP TABLE incidents; --', { limit: 5 }), [], 'query text is data');
  // vigil close: the same incident again, labelled; one row, the label is its root cause.
  await s.putIncident(closedIncident({ ...PAST[0] as PastIncidentSpec, confirmed: 'postgres' }));
  const rows = await admin?.query(`SELECT incident_id, root_cause_service FROM "${schema}".incidents WHERE incident_id = 'inc-pool'`);
  assert.deepEqual(rows?.rows, [{ incident_id: 'inc-pool', root_cause_service: 'postgres' }]);
  const history = await retrieveHistory(
    { incidentId: 'now', alerts: [{ ...alerts[0] as Alert, labels: { alertname: 'HighErrorRate', service: 'checkout' }, annotations: { summary: 'database connection timeouts' } }], candidates: [] },
    { store: s, runbooks: [] },
  );
  assert.equal(history.retrieval?.store, 'postgres');
  assert.equal(history.similarIncidents[0]?.id, 'inc-pool');
  assert.equal(history.similarIncidents[0]?.rootCauseService, 'postgres', 'the confirmed label, not the inference');
  assert.deepEqual((await s.listIncidents({ limit: 10 })).map((p) => p.incidentId), ['inc-basket', 'inc-memory', 'inc-pool'], 'newest first');
  assert.deepEqual((await s.listIncidents({ limit: 10, closedSince: '2026-11-02T00:00:00Z' })).map((p) => p.incidentId), ['inc-basket', 'inc-memory'], 'closed within the window');
  // The accuracy SLIs read the labels from the shared store: inc-pool was inferred checkout, labelled postgres.
  const now = Date.parse('2026-11-03T12:00:00Z');
  const recent = await readAccuracySlis(s, { now, windowSeconds: 2 * 86_400, confidenceThreshold: 0.6, maxIncidents: 100 });
  assert.deepEqual([recent.incidents.closed, recent.incidents.labelled], [2, 0]);
  const month = await readAccuracySlis(s, { now, windowSeconds: 30 * 86_400, confidenceThreshold: 0.6, maxIncidents: 100 });
  assert.deepEqual([month.incidents.closed, month.incidents.labelled, month.incidents.unlabelled], [3, 1, 2]);
  assert.deepEqual(month.accuracy.top1, { value: 0, samples: 1 });
  assert.equal(month.incidents.confirmedNotRanked, 1, 'postgres was not among the candidates');
  assert.equal((await s.getIncident('inc-pool'))?.feedback?.confirmedRootCause, 'postgres');
});

pgTest('runbooks are indexed in PostgreSQL and ranked by full text among those that apply', async () => {
  const schema = newSchema();
  const s = store(schema);
  const runbooks = await loadRunbooks(DEFAULT_RUNBOOKS_DIR);
  const pool: Candidate[] = [{ service: 'checkout', indicator: 'db_connections_in_use', score: 0.9, reasons: [], findingIds: [] }];
  const history = await retrieveHistory({ incidentId: 'now', alerts: [{ ...alerts[0] as Alert, annotations: { summary: 'timeout acquiring connection from the pool' } }], candidates: pool }, { store: s, runbooks });
  assert.equal(history.runbooks[0]?.id, 'restart-connection-pool');
  assert.ok((history.runbooks[0]?.relevance ?? 0) > 0);
  const indexed = await admin?.query(`SELECT id FROM "${schema}".runbooks ORDER BY id`);
  assert.ok(indexed?.rows.some((r: { id: string }) => r.id === 'restart-connection-pool'), 'the runbook index is in the database');
});

pgTest('with embeddings, vectors are cached in PostgreSQL: a second worker embeds only its query', async () => {
  const schema = newSchema();
  const first = store(schema);
  for (const p of PAST) await first.putIncident(closedIncident(p));
  const embedder = new OpenAiEmbeddingsClient(EmbeddingsConfig.parse({ baseUrl: llm.openaiBaseUrl, model: 'fake-embed', maxRetries: 0 }), {});
  const embedded = (from: number) => llm.requests.slice(from).filter((r) => r.route === 'embeddings').flatMap((r) => (r.body as { input: string[] }).input).length;
  let from = llm.requests.length;
  const h1 = await retrieveHistory({ incidentId: 'now', alerts, candidates }, { store: first, runbooks: [], embedder });
  assert.equal(embedded(from), 4);
  assert.equal(h1.retrieval?.method, 'hybrid');
  assert.ok(h1.similarIncidents.some((s) => s.id === 'inc-memory' && s.matchedBy?.includes('semantic')), 'the memory incident in other words');
  from = llm.requests.length;
  const h2 = await retrieveHistory({ incidentId: 'now', alerts, candidates }, { store: store(schema), runbooks: [], embedder });
  assert.equal(embedded(from), 1, 'the documents came from the database');
  assert.deepEqual(h2.similarIncidents.map((s) => s.id), h1.similarIncidents.map((s) => s.id));
});

pgTest('an unreachable database never fails retrieval: no past incidents, runbooks from files, and a note', async () => {
  const s = new PostgresKnowledgeStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'unused' });
  stores.push(s);
  const runbooks = await loadRunbooks(DEFAULT_RUNBOOKS_DIR);
  const history = await retrieveHistory({ incidentId: 'now', alerts, candidates: [{ service: 'checkout', indicator: 'db_connections', score: 1, reasons: [], findingIds: [] }] }, { store: s, runbooks });
  assert.deepEqual(history.similarIncidents, []);
  assert.ok(history.runbooks.length > 0);
  assert.match(history.retrieval?.notes[0] ?? '', /knowledge store \(postgres schema unused\) is unavailable .*no past incidents/);
});

pgTest('a worker adds each closed incident to PostgreSQL; vigil close labels it there; the next incident retrieves the label, lexically when embeddings fail', async () => {
  const schema = newSchema();
  const knowledge = { store: 'postgres', postgres: { connectionString: PG_URL, schema }, embeddings: { baseUrl: llm.openaiBaseUrl, model: 'fake-embed', maxRetries: 0 } };
  const policyFile = writePolicy((p) => {
    p.autonomy.default = 'shadow'; // propose, never act: the incident closes right after planning
    p.checkpoint.sampleRate = 0;
  });
  const h: IncidentHarness = await startIncidentHarness({ seed: 81, policyFile, configOverrides: { knowledge } });
  try {
    const first = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'payment', severity: 'P3', alertService: 'payment' });
    const done = await incidentResult(h.client, first.incidentId);
    assert.equal(done.outcome, 'shadow');
    assert.equal(done.report?.knowledgeError, undefined);
    assert.equal(done.history?.retrieval?.method, 'hybrid');
    const s = store(schema);
    const entry = await s.getIncident(first.incidentId);
    assert.equal(entry?.stage, 'closed', 'added when it closed');
    assert.equal(entry?.rootCause?.service, 'payment');

    // The commander labels it, from a machine without the report file: the CLI finds it in PostgreSQL.
    const dir = tempDir('close-pg');
    const configFile = join(dir, 'vigil.yaml');
    writeFileSync(configFile, stringify({ knowledge }));
    const label = done.topologyServices.find((x) => x !== 'payment') ?? 'payment';
    const r = spawnSync(process.execPath, ['bin/vigil.js', 'close', first.incidentId, '--root-cause', label, '--as', 'commander@local', '--helpful', '--json', '--config', configFile, '--data-dir', dir], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await s.getIncident(first.incidentId))?.feedback?.confirmedRootCause, label);

    llm.scriptEmbeddings({ kind: 'status', status: 503, body: { error: { message: 'embedding model down' } } });
    const second = await simulateIncident({ controlUrl: h.sim.controlUrl, ingestUrl: h.ingestUrl, fault: 'db-pool-exhaustion', service: 'inventory', severity: 'P3', alertService: 'inventory' });
    const next = await incidentResult(h.client, second.incidentId);
    assert.equal(next.history?.retrieval?.store, 'postgres');
    const found = next.history?.similarIncidents.find((x) => x.id === first.incidentId);
    assert.ok(found, `the first incident is retrieved (got ${JSON.stringify(next.history?.similarIncidents)})`);
    assert.equal(found.rootCauseService, label, 'with the commander label');
    // The embeddings endpoint failed for this one: lexical retrieval, said in the timeline and the report.
    assert.equal(next.history?.retrieval?.method, 'lexical');
    assert.ok(next.timeline.some((t) => /semantic search unavailable .*HTTP 503: embedding model down.*lexical only/.test(t.note)), 'the timeline says so');
    assert.match(readFileSync(next.report?.markdownPath ?? '', 'utf8'), /semantic search unavailable/);
  } finally {
    await h.close();
  }
});

pgTest('a closed incident whose store stays unreachable still gets its report files, and its status and those files say it was not added', async () => {
  const dir = tempDir('report-pg-down');
  const unreachable = new PostgresKnowledgeStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'unused' });
  stores.push(unreachable);
  const activities = createActivities({
    gate: undefined as never,
    evidence: undefined as never,
    policyFile: '',
    runbooksDir: DEFAULT_RUNBOOKS_DIR,
    reportsDir: join(dir, 'reports'),
    settings: {},
    readKillSwitch: () => Promise.resolve(null),
    knowledge: { store: unreachable, similarIncidents: 3, runbooks: 5 },
  });
  // Outside Temporal there is no retry to wait for: this is the last attempt.
  const out = await activities.writeReport({ status: closedIncident(PAST[0] as PastIncidentSpec), temporal: { workflowId: 'inc-pool', runId: 'r1' } });
  assert.match(out.knowledgeError ?? '', /not added to the knowledge store \(postgres schema unused\)/);
  assert.ok(existsSync(out.jsonPath) && existsSync(out.markdownPath));
  const onDisk = JSON.parse(readFileSync(out.jsonPath, 'utf8')) as { report?: { knowledgeError?: string } };
  assert.equal(onDisk.report?.knowledgeError, out.knowledgeError, 'the report file says it too');
  assert.match(readFileSync(out.markdownPath, 'utf8'), /\*\*Knowledge base:\*\* `not added to the knowledge store \(postgres schema unused\)/);
});
