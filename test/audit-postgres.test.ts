/**
 * The audit log on the real local PostgreSQL (127.0.0.1:5432, database `test`, user
 * `postgres`, or $VIGIL_TEST_PG_URL): the same chain guarantees as the JSONL store.
 * Each run works in its own schema, dropped afterwards. Skipped when PostgreSQL is not there.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { PostgresAuditStore, exportIncident, type AuditRecord, type EvidencePacketInput } from '../src/audit/index.js';

const PG_URL = process.env['VIGIL_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = `vigil_audit_test_${randomBytes(4).toString('hex')}`;
let admin: pg.Pool | undefined;
let available = false;
let tables = 0;

before(async () => {
  admin = new pg.Pool({ connectionString: PG_URL, max: 2, connectionTimeoutMillis: 3000 });
  try {
    await admin.query(`CREATE SCHEMA "${SCHEMA}"`);
    available = true;
  } catch {
    available = false;
  }
});

after(async () => {
  if (available) await admin?.query(`DROP SCHEMA "${SCHEMA}" CASCADE`);
  await admin?.end();
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

function newTable(): string {
  tables += 1;
  return `${SCHEMA}.log_${tables}`;
}

function packet(i: number, over: Partial<EvidencePacketInput> = {}): EvidencePacketInput {
  return {
    packetId: `pkt-${i}-${randomUUID()}`,
    kind: 'remediation-action',
    incidentId: 'incident-a',
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString(),
    agentVersion: { workflowBuildId: 'build-1', policyVersion: 'dev-1' },
    planSummary: `scale payment step ${i}`,
    policy: { decidingRule: 'actions.scale.risk=medium', applied: [{ name: 'autonomy.services.payment', effect: 'partial' }] },
    action: { kind: 'scale', target: 'payment', executed: true, parameters: { replicas: 4, ratio: 0.1 }, downstream: { status: 'ok' } },
    compensation: { ref: `incident-a/step-${i}/undo`, state: { replicas: 3 } },
    justification: 'pool exhaustion on payment',
    actor: { type: 'agent', id: 'vigil-worker' },
    ...over,
  };
}

async function collect(it: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

async function tamper(table: string, sql: string): Promise<void> {
  const c = await admin!.connect();
  try {
    await c.query('SET session_replication_role = replica'); // the append-only trigger stays out of the way
    await c.query(sql.replaceAll('$T', table.split('.').map((p) => `"${p}"`).join('.')));
  } finally {
    await c.query('RESET session_replication_role');
    c.release();
  }
}

pgTest('postgres: appended packets form an intact chain, and the table refuses edits', async () => {
  const table = newTable();
  const store = new PostgresAuditStore({ connectionString: PG_URL, table });
  try {
    for (let i = 1; i <= 8; i++) await store.append(packet(i));
    const records = await collect(store.records());
    assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8]);
    const verified = await store.verify();
    assert.deepEqual(verified, { ok: true, count: 8, headHash: records[7]?.hash });
    await assert.rejects(admin!.query(`UPDATE "${SCHEMA}"."log_${tables}" SET hash = hash`), /append-only/);
    await assert.rejects(admin!.query(`DELETE FROM "${SCHEMA}"."log_${tables}"`), /append-only/);
  } finally {
    await store.close();
  }
});

pgTest('postgres: an edited packet names that record; a deleted one names the next', async () => {
  const table = newTable();
  const store = new PostgresAuditStore({ connectionString: PG_URL, table });
  try {
    for (let i = 1; i <= 8; i++) await store.append(packet(i));
    await tamper(table, `UPDATE $T SET packet = jsonb_set(packet, '{planSummary}', '"scale payment step 6!"') WHERE seq = 6`);
    const edited = await store.verify();
    assert.ok(!edited.ok);
    assert.equal(edited.firstBroken.seq, 6);
    assert.match(edited.firstBroken.reason, /hash mismatch/);

    await tamper(table, 'DELETE FROM $T WHERE seq = 3');
    const deleted = await store.verify();
    assert.ok(!deleted.ok);
    assert.equal(deleted.firstBroken.seq, 4);
  } finally {
    await store.close();
  }
});

const CHILD = `
const { PostgresAuditStore } = await import(process.env.AUDIT_MODULE);
const store = new PostgresAuditStore({ connectionString: process.env.AUDIT_PG, table: process.env.AUDIT_TABLE });
await store.init();
await new Promise((r) => setTimeout(r, Number(process.env.AUDIT_START_AT) - Date.now()));
const all = [];
for (let i = 0; i < Number(process.env.AUDIT_N); i++) {
  all.push(store.append({
    packetId: process.env.AUDIT_TAG + '-' + i, kind: 'diagnosis', incidentId: process.env.AUDIT_TAG,
    timestamp: new Date().toISOString(), agentVersion: { workflowBuildId: 'child', policyVersion: 'dev-1' },
    planSummary: 'child append ' + i, justification: 'concurrency test', actor: { type: 'system', id: process.env.AUDIT_TAG },
  }));
  if (i % 10 === 9) await new Promise((r) => setTimeout(r, 2));
}
await Promise.all(all);
await store.close();
`;

function child(table: string, tag: string, n: number, startAt: number): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, AUDIT_MODULE: pathToFileURL(resolve('src/audit/postgres-audit-store.ts')).href, AUDIT_PG: PG_URL, AUDIT_TABLE: table, AUDIT_N: String(n), AUDIT_TAG: tag, AUDIT_START_AT: String(startAt) },
  });
  return new Promise((res) => proc.on('exit', (code) => res(code ?? 1)));
}

pgTest('postgres: 200 parallel appends and two processes at once keep one intact chain', async () => {
  const table = newTable();
  const store = new PostgresAuditStore({ connectionString: PG_URL, table });
  const second = new PostgresAuditStore({ connectionString: PG_URL, table }); // its own pool: another writer
  try {
    await store.init();
    const startAt = Date.now() + 2500; // after both children have loaded
    const children = Promise.all([child(table, 'proc-a', 100, startAt), child(table, 'proc-b', 100, startAt)]);
    const packets = Array.from({ length: 200 }, (_, i) => packet(i, { incidentId: 'proc-main' }));
    await new Promise((r) => setTimeout(r, startAt - Date.now()));
    await Promise.all(packets.map(async (p, i) => {
      if (i % 20 === 19) await new Promise((r) => setTimeout(r, i / 5));
      return (i % 2 ? second : store).append(p);
    }));
    assert.deepEqual(await children, [0, 0]);
    const verified = await store.verify();
    assert.ok(verified.ok, JSON.stringify(verified));
    assert.equal(verified.count, 400);
    const records = await collect(store.records());
    for (const [tag, n] of [['proc-a', 100], ['proc-b', 100], ['proc-main', 200]] as const) {
      assert.equal(new Set(records.filter((r) => r.packet.incidentId === tag).map((r) => r.packet.packetId)).size, n, tag);
    }
    const switches = records.filter((r, i) => i > 0 && r.packet.incidentId !== records[i - 1]?.packet.incidentId).length;
    assert.ok(switches >= 4, `the writers' appends interleaved (${switches} switches)`);
  } finally {
    await store.close();
    await second.close();
  }
});

pgTest('postgres: retries are idempotent and the export holds one incident in order', async () => {
  const table = newTable();
  const store = new PostgresAuditStore({ connectionString: PG_URL, table });
  try {
    const first = packet(1);
    const a = await store.append(first);
    const [b] = await Promise.all([store.append(first), store.append(packet(2, { incidentId: 'incident-b' }))]);
    assert.deepEqual(b, a);
    await store.append(packet(3));
    const doc = await exportIncident(store, 'incident-a');
    assert.deepEqual(doc.records.map((r) => r.seq), [1, 3]);
    assert.deepEqual(doc.chain.ok && doc.chain.count, 3);
    assert.equal(doc.records[0]?.packet.action?.parameters['ratio'], 0.1);
  } finally {
    await store.close();
  }
});

pgTest('postgres: `vigil audit verify --pg` exits 0 when intact and 1 naming the broken record', async () => {
  const table = newTable();
  const store = new PostgresAuditStore({ connectionString: PG_URL, table });
  try {
    for (let i = 1; i <= 4; i++) await store.append(packet(i));
  } finally {
    await store.close();
  }
  const env = { ...process.env, VIGIL_AUDIT_PG_URL: PG_URL, VIGIL_AUDIT_PG_TABLE: table };
  const ok = spawnSync(process.execPath, ['bin/vigil.js', 'audit', 'verify', '--pg'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: 4 records, chain intact/);
  await tamper(table, `UPDATE $T SET packet = jsonb_set(packet, '{justification}', '"nothing happened"') WHERE seq = 2`);
  const broken = spawnSync(process.execPath, ['bin/vigil.js', 'audit', 'verify', '--pg'], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /broken: record seq 2 .*hash mismatch/);
});
