/** Proof of action: the hash-chained audit log (JSONL store), redaction, export and `vigil audit`. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import {
  AuditLockTimeoutError,
  AuditLogCorruptError,
  AuditPacketInvalidError,
  GENESIS_HASH,
  JsonlAuditStore,
  createRedactor,
  exportIncident,
  verifyChain,
  type AuditRecord,
  type EvidencePacketInput,
} from '../src/audit/index.js';
import { tempDir } from './support/temporal.js';

function packet(i: number, over: Partial<EvidencePacketInput> = {}): EvidencePacketInput {
  return {
    packetId: `pkt-${i}-${randomUUID()}`,
    kind: 'diagnosis',
    incidentId: 'incident-a',
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString(),
    agentVersion: { workflowBuildId: 'build-1', policyVersion: 'dev-1', toolSchemaVersions: { 'metrics.query_range': '1' } },
    planSummary: `analyse step ${i}`,
    toolCalls: [{ tool: 'metrics.query_range', input: { service: 'payment', step: 15 }, outputDigest: 'a'.repeat(64) }],
    justification: 'error rate on payment rose right after its deploy',
    actor: { type: 'agent', id: 'vigil-worker' },
    ...over,
  };
}

async function collect(it: AsyncIterable<AuditRecord>): Promise<AuditRecord[]> {
  const out: AuditRecord[] = [];
  for await (const r of it) out.push(r);
  return out;
}

function lines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean);
}

async function logOf(n: number): Promise<{ file: string; store: JsonlAuditStore }> {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const store = new JsonlAuditStore(file);
  for (let i = 1; i <= n; i++) await store.append(packet(i));
  return { file, store };
}

function vigil(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

void test('appended packets form an intact chain from the genesis hash', async () => {
  const { file, store } = await logOf(10);
  const records = await collect(store.records());
  assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  for (let i = 1; i < records.length; i++) assert.equal(records[i]?.prevHash, records[i - 1]?.hash);
  assert.deepEqual(await store.verify(), { ok: true, count: 10, headHash: records[9]?.hash });
  assert.equal(lines(file).length, 10);
});

void test('editing one byte of a packet in the middle names exactly that record', async () => {
  const { file, store } = await logOf(9);
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('analyse step 5');
  writeFileSync(file, `${text.slice(0, at)}A${text.slice(at + 1)}`);
  const result = await store.verify();
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.firstBroken.seq, 5);
  assert.match(result.firstBroken.reason, /hash mismatch/);
  assert.equal(result.count, 4);
});

void test('a byte edit that breaks the JSON of a record names that record', async () => {
  const { file, store } = await logOf(6);
  const all = lines(file);
  all[2] = all[2]!.replace('{"seq"', '{"seq"]');
  writeFileSync(file, `${all.join('\n')}\n`);
  const result = await store.verify();
  assert.ok(!result.ok);
  assert.equal(result.firstBroken.seq, 3);
  assert.match(result.firstBroken.reason, /not valid JSON/);
});

void test('deleting a record names the record after it; reordering is caught too', async () => {
  const { file, store } = await logOf(8);
  const all = lines(file);
  writeFileSync(file, `${all.filter((_, i) => i !== 3).join('\n')}\n`);
  const deleted = await store.verify();
  assert.ok(!deleted.ok);
  assert.equal(deleted.firstBroken.seq, 5);
  assert.match(deleted.firstBroken.reason, /seq 5 where 4 was expected/);

  const swapped = [...all];
  [swapped[5], swapped[6]] = [all[6]!, all[5]!];
  const reordered = await verifyChain(swapped.map((l) => JSON.parse(l) as unknown));
  assert.ok(!reordered.ok);
  assert.equal(reordered.firstBroken.seq, 7);

  // A record replaced by a re-hashed forgery: its own hash checks, the next prevHash does not.
  const forged = JSON.parse(all[2]!) as Record<string, unknown> & { packet: { planSummary: string } };
  forged.packet.planSummary = 'nothing to see';
  const { hashRecord } = await import('../src/audit/audit-log.js');
  forged['hash'] = hashRecord(forged);
  const rehashed = await verifyChain(all.map((l, i) => (i === 2 ? forged : (JSON.parse(l) as unknown))));
  assert.ok(!rehashed.ok);
  assert.equal(rehashed.firstBroken.seq, 4);
  assert.match(rehashed.firstBroken.reason, /prevHash/);
});

void test('200 parallel appends from one process keep the chain intact and lose nothing', async () => {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const store = new JsonlAuditStore(file);
  const other = new JsonlAuditStore(file); // a second store on the same file shares the writer
  const packets = Array.from({ length: 200 }, (_, i) => packet(i));
  const records = await Promise.all(packets.map((p, i) => (i % 2 ? other : store).append(p)));
  assert.deepEqual(new Set(records.map((r) => r.seq)).size, 200);
  const verified = await store.verify();
  assert.deepEqual(verified.ok && verified.count, 200);
  const stored = new Set((await collect(store.records())).map((r) => r.packet.packetId));
  for (const p of packets) assert.ok(stored.has(p.packetId));
});

const CHILD = `
const { JsonlAuditStore } = await import(process.env.AUDIT_MODULE);
const store = new JsonlAuditStore(process.env.AUDIT_FILE);
const n = Number(process.env.AUDIT_N);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
await sleep(Number(process.env.AUDIT_START_AT) - Date.now());
const all = [];
for (let i = 0; i < n; i++) {
  // waves of parallel appends, so batches from the processes interleave
  all.push(store.append({
    packetId: process.env.AUDIT_TAG + '-' + i, kind: 'diagnosis', incidentId: process.env.AUDIT_TAG,
    timestamp: new Date().toISOString(), agentVersion: { workflowBuildId: 'child', policyVersion: 'dev-1' },
    planSummary: 'child append ' + i, justification: 'concurrency test', actor: { type: 'system', id: process.env.AUDIT_TAG },
  }));
  if (i % 10 === 9) await sleep(2);
}
await Promise.all(all);
`;

function child(file: string, tag: string, n: number, startAt: number): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, AUDIT_MODULE: pathToFileURL(resolve('src/audit/jsonl-audit-store.ts')).href, AUDIT_FILE: file, AUDIT_N: String(n), AUDIT_TAG: tag, AUDIT_START_AT: String(startAt) },
  });
  return new Promise((res) => proc.on('exit', (code) => res(code ?? 1)));
}

void test('two processes and this one appending at once produce one intact chain with no lost records', async () => {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const store = new JsonlAuditStore(file);
  const startAt = Date.now() + 2000; // after both children have loaded
  const [a, b] = await Promise.all([
    child(file, 'proc-a', 150, startAt),
    child(file, 'proc-b', 150, startAt),
    (async () => {
      await new Promise((r) => setTimeout(r, startAt - Date.now()));
      for (let i = 0; i < 60; i++) {
        await store.append(packet(i, { incidentId: 'proc-main' }));
        await new Promise((r) => setTimeout(r, 2));
      }
      return 0;
    })(),
  ]);
  assert.equal(a, 0);
  assert.equal(b, 0);
  const verified = await store.verify();
  assert.ok(verified.ok, JSON.stringify(verified));
  assert.equal(verified.count, 360);
  const records = await collect(store.records());
  for (const tag of ['proc-a', 'proc-b']) {
    const ids = new Set(records.filter((r) => r.packet.incidentId === tag).map((r) => r.packet.packetId));
    assert.equal(ids.size, 150, tag);
  }
  assert.ok(!existsSync(`${file}.lock`), 'the lock is released');
});

void test('a retried append with the same packetId records the step once', async () => {
  const { store } = await logOf(2);
  const p = packet(3);
  const [first, second] = await Promise.all([store.append(p), store.append(p)]);
  const third = await new JsonlAuditStore(store.location).append({ ...p, planSummary: 'retry' });
  assert.equal(first.seq, 3);
  assert.deepEqual(second, first);
  assert.deepEqual(third, first);
  const verified = await store.verify();
  assert.deepEqual(verified.ok && verified.count, 3);
});

void test('a packet that misses what its kind needs is refused before anything is written', async () => {
  const { store } = await logOf(1);
  await assert.rejects(store.append(packet(2, { kind: 'remediation-action' })), (err: unknown) => {
    assert.ok(err instanceof AuditPacketInvalidError);
    assert.match(err.message, /needs action/);
    return true;
  });
  await assert.rejects(store.append(packet(3, { actor: { type: 'person', id: 'oncall@local' } as never })), AuditPacketInvalidError);
  const verified = await store.verify();
  assert.deepEqual(verified.ok && verified.count, 1);
});

void test('appending after a torn last record is refused rather than chained onto it', async () => {
  const { file } = await logOf(3);
  appendFileSync(file, '{"seq":4,"prevHash":"00');
  const store = new JsonlAuditStore(file);
  await assert.rejects(store.append(packet(4)), AuditLogCorruptError);
});

void test('a lock left by a dead process is taken over; a live one makes appends wait, then time out', async () => {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(`${file}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), at: Date.now(), token: 'gone' }));
  const store = new JsonlAuditStore(file);
  assert.equal((await store.append(packet(1))).seq, 1);
  assert.ok(!existsSync(`${file}.lock`));

  const live = join(tempDir('audit'), 'audit.jsonl');
  writeFileSync(`${live}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), at: Date.now(), token: 'alive' }));
  const impatient = new JsonlAuditStore(live, { lock: { timeoutMs: 300 } });
  await assert.rejects(impatient.append(packet(2)), AuditLockTimeoutError);
  assert.ok(readFileSync(`${live}.lock`, 'utf8').includes('alive'), 'a live lock is left alone');
  assert.ok(!existsSync(live), 'nothing was written without the lock');
});

void test('secrets and configured PII never reach the file; PII digests still compare equal', async () => {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const store = new JsonlAuditStore(file, {
    redaction: { piiFields: ['email', 'actor.id', 'toolCalls.input.customer.phone'], digestKey: 'k3y', piiPatterns: ['\\b\\d{3}-\\d{2}-\\d{4}\\b'] },
  });
  const secrets = ['s3cr3t-token-value', 'hunter2-password', 'AKIAEXAMPLEKEY', 'sk-live-abcdef', 'eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl', 'dbpass99', 'qs-token-777'];
  const pii = ['alice@example.com', 'commander@local', '+1-555-0100', '123-45-6789'];
  const p = packet(1, {
    kind: 'checkpoint-decision',
    actor: { type: 'person', id: 'commander@local', role: 'incident-commander' },
    policy: { decidingRule: 'checkpoint.alwaysFor P0', applied: [{ name: 'checkpoint.alwaysFor' }] },
    planSummary: 'roll back payment; called with Authorization: Bearer s3cr3t-token-value',
    justification: 'customer SSN 123-45-6789 was in the log line; see https://ops:dbpass99@db.internal/x?access_token=qs-token-777',
    toolCalls: [
      {
        tool: 'remediation.rollback',
        input: { headers: { Authorization: 'Basic aHVudGVyMi1wYXNzd29yZA==', 'X-Api-Key': 'AKIAEXAMPLEKEY' }, password: 'hunter2-password', customer: { phone: '+1-555-0100', email: 'alice@example.com' } },
        outputDigest: 'b'.repeat(64),
      },
    ],
    details: { apiKey: 'sk-live-abcdef', jwt: 'eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl', maxTokens: 512, reporter: { email: 'alice@example.com' } },
  });
  const record = await store.append(p);
  const raw = readFileSync(file, 'utf8');
  for (const s of [...secrets, ...pii, 'aHVudGVyMi1wYXNzd29yZA==']) assert.ok(!raw.includes(s), `"${s}" leaked into the audit log`);
  assert.match(raw, /\[redacted\]/);
  const input = record.packet.toolCalls[0]?.input as { customer: { email: string } };
  const details = record.packet.details as { maxTokens: number; reporter: { email: string } };
  assert.equal(details.maxTokens, 512, 'counts named like secrets are kept');
  assert.match(input.customer.email, /^\[redacted:hmac-sha256:[0-9a-f]{32}\]$/);
  assert.equal(input.customer.email, details.reporter.email, 'the same e-mail gives the same digest');
  assert.equal((await store.verify()).ok, true, 'the hash covers the redacted packet');
  assert.equal(record.packet.actor.type === 'person' && record.packet.actor.role, 'incident-commander');
});

void test('redaction leaves ordinary evidence alone and never mutates its input', () => {
  const redact = createRedactor({ piiFields: ['user.name'] });
  const input = { service: 'payment', user: { name: 'bob', team: 'sre' }, name: 'kept', tokenCount: 3, note: 'scaled to 3 replicas' };
  const copy = structuredClone(input);
  const out = redact(input) as typeof input;
  assert.deepEqual(input, copy);
  assert.equal(out.service, 'payment');
  assert.equal(out.name, 'kept');
  assert.match(out.user.name, /^\[redacted:sha256:/);
  assert.equal(out.user.team, 'sre');
  assert.equal(out.tokenCount, 3);
  assert.equal(out.note, 'scaled to 3 replicas');
});

void test('the export of one incident holds only its packets, in order, with the chain status', async () => {
  const file = join(tempDir('audit'), 'audit.jsonl');
  const store = new JsonlAuditStore(file);
  for (let i = 1; i <= 9; i++) await store.append(packet(i, { incidentId: i % 3 === 0 ? 'incident-b' : 'incident-a' }));
  await store.append(packet(10, { kind: 'kill-switch', incidentId: undefined, actor: { type: 'person', id: 'commander@local', role: 'incident-commander' } }));
  const doc = await exportIncident(store, 'incident-b');
  assert.equal(doc.incidentId, 'incident-b');
  assert.deepEqual(doc.records.map((r) => r.seq), [3, 6, 9]);
  assert.ok(doc.records.every((r) => r.packet.incidentId === 'incident-b' && /^[0-9a-f]{64}$/.test(r.hash)));
  assert.deepEqual(doc.chain.ok && doc.chain.count, 10);
  assert.ok(!Number.isNaN(Date.parse(doc.generatedAt)));
});

void test('`vigil audit verify` exits 0 on an intact chain and 1 naming the first broken record', async () => {
  const { file } = await logOf(5);
  const ok = vigil(['audit', 'verify', file]);
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^ok: 5 records, chain intact/);

  const dataDir = tempDir('audit-cli');
  const fromDataDir = new JsonlAuditStore(join(dataDir, 'audit.jsonl'));
  await fromDataDir.append(packet(1));
  const byDefault = vigil(['audit', 'verify', '--data-dir', dataDir]);
  assert.equal(byDefault.status, 0, byDefault.stderr);
  assert.match(byDefault.stdout, /ok: 1 records, chain intact/);

  const text = readFileSync(file, 'utf8');
  const at = text.indexOf('analyse step 3');
  writeFileSync(file, `${text.slice(0, at)}X${text.slice(at + 1)}`);
  const broken = vigil(['audit', 'verify', file]);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /broken: record seq 3 .*hash mismatch/);

  const json = vigil(['audit', 'verify', file, '--json']);
  assert.equal(json.status, 1);
  assert.equal((JSON.parse(json.stdout) as { firstBroken: { seq: number } }).firstBroken.seq, 3);

  const missing = vigil(['audit', 'verify', join(dataDir, 'nope.jsonl')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /no audit log at/);
  const bad = vigil(['audit', 'frobnicate']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown audit subcommand "frobnicate"/);
});

void test('`vigil audit export` writes one incident for auditors and says when there is none', async () => {
  const dataDir = tempDir('audit-cli');
  const store = new JsonlAuditStore(join(dataDir, 'audit.jsonl'));
  for (let i = 1; i <= 4; i++) await store.append(packet(i, { incidentId: i % 2 ? 'incident-odd' : 'incident-even' }));
  const out = join(dataDir, 'export.json');
  const r = vigil(['audit', 'export', 'incident-even', '--out', out, '--data-dir', dataDir]);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { incidentId: string; chain: { ok: boolean }; records: { seq: number; hash: string }[] };
  assert.equal(doc.incidentId, 'incident-even');
  assert.equal(doc.chain.ok, true);
  assert.deepEqual(doc.records.map((x) => x.seq), [2, 4]);

  const none = vigil(['audit', 'export', 'incident-nope', '--data-dir', dataDir]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no audit records for incident "incident-nope"/);
});
