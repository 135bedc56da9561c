/**
 * The PostgreSQL audit store: one row per record in a table
 * `(seq bigint primary key, packet_id unique, prev_hash, hash unique, recorded_at text,
 * packet jsonb)`; an incident's records are found by `packet->>'incidentId'` (indexed),
 * so what selects them is covered by the hash.
 *
 * Appends are chained inside a transaction that first takes a transaction-scoped
 * advisory lock derived from the table name, then reads the last row and inserts the
 * batch, so every writer (any process, any host) chains onto the true last record; the
 * primary key on `seq` is the backstop. In one process, appends are batched (GroupCommit).
 * A trigger refuses UPDATE, DELETE and TRUNCATE on the table (append-only; an owner can
 * still disable it, which verify then exposes through the hashes).
 * `recorded_at` is text so the hashed value comes back byte for byte; jsonb reorders keys,
 * which the canonical JSON ignores.
 */
import pg from 'pg';
import {
  AuditLogCorruptError,
  AuditRecord,
  GroupCommit,
  chainRecord,
  preparePacket,
  verifyChain,
  type AuditFilter,
  type AuditStore,
  type ChainVerification,
} from './audit-log.js';
import type { EvidencePacket, EvidencePacketInput } from './evidence-packet.js';
import { createRedactor, type RedactionConfig, type Redactor } from './redaction.js';

export interface PostgresAuditStoreOptions {
  /** libpq connection string; without it the PG* environment variables apply. */
  connectionString?: string;
  /** Table name, optionally schema-qualified ("audit.records"). @default "vigil_audit" */
  table?: string;
  redaction?: Partial<RedactionConfig>;
  /** An existing pool (not closed by close()). */
  pool?: pg.Pool;
}

interface Row {
  seq: string;
  prev_hash: string;
  hash: string;
  recorded_at: string;
  packet: unknown;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function qualified(table: string): { schema: string; name: string; sql: string } {
  const parts = table.split('.');
  const [schema, name] = parts.length === 2 ? (parts as [string, string]) : ['public', parts[0] ?? ''];
  if (parts.length > 2 || !IDENT.test(schema) || !IDENT.test(name)) throw new Error(`invalid audit table name "${table}"`);
  return { schema, name, sql: `"${schema}"."${name}"` };
}

function toRaw(row: Row): Record<string, unknown> {
  return { seq: Number(row.seq), prevHash: row.prev_hash, hash: row.hash, recordedAt: row.recorded_at, packet: row.packet };
}

export class PostgresAuditStore implements AuditStore {
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private readonly table: { schema: string; name: string; sql: string };
  private readonly lockKey: string;
  private readonly redact: Redactor;
  private readonly queue: GroupCommit<EvidencePacket, AuditRecord>;
  private ready: Promise<void> | undefined;

  constructor(opts: PostgresAuditStoreOptions = {}) {
    this.table = qualified(opts.table ?? 'vigil_audit');
    this.location = `postgres ${this.table.schema}.${this.table.name}`;
    this.lockKey = `vigil-audit:${this.table.schema}.${this.table.name}`;
    this.ownPool = !opts.pool;
    this.pool = opts.pool ?? new pg.Pool({ ...(opts.connectionString ? { connectionString: opts.connectionString } : {}), max: 4 });
    this.redact = createRedactor(opts.redaction);
    this.queue = new GroupCommit((packets) => this.commit(packets), 100);
  }

  /** Creates the table, its index and the append-only trigger if missing (idempotent). */
  init(): Promise<void> {
    this.ready ??= this.createSchema().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  private async createSchema(): Promise<void> {
    const { schema, name, sql: t } = this.table;
    const fn = `"${schema}"."vigil_audit_append_only"`;
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockKey]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${t} (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        packet_id text NOT NULL UNIQUE,
        prev_hash char(64) NOT NULL,
        hash char(64) NOT NULL UNIQUE,
        recorded_at text NOT NULL,
        packet jsonb NOT NULL)`);
      await c.query(`CREATE INDEX IF NOT EXISTS "${name}_incident_seq" ON ${t} ((packet->>'incidentId'), seq)`);
      await c.query(`CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the vigil audit log is append-only (% refused)', TG_OP; END $$`);
      const exists = await c.query('SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = $2::regclass', [`${name}_append_only`, t]);
      if (exists.rowCount === 0) {
        await c.query(`CREATE TRIGGER "${name}_append_only" BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
        await c.query(`CREATE TRIGGER "${name}_append_only_truncate" BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
      }
    });
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  append(input: EvidencePacketInput): Promise<AuditRecord> {
    let packet: EvidencePacket;
    try {
      packet = preparePacket(input, this.redact);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.queue.submit(packet);
  }

  private async commit(packets: EvidencePacket[]): Promise<AuditRecord[]> {
    await this.init();
    const t = this.table.sql;
    return this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockKey]);
      const ids = [...new Set(packets.map((p) => p.packetId))];
      const existing = new Map<string, AuditRecord>();
      const dup = await c.query<Row & { packet_id: string }>(
        `SELECT seq, packet_id, prev_hash, hash, recorded_at, packet FROM ${t} WHERE packet_id = ANY($1::text[])`,
        [ids],
      );
      for (const row of dup.rows) existing.set(row.packet_id, this.parse(row));
      const head = await c.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM ${t} ORDER BY seq DESC LIMIT 1`);
      const top = head.rows[0];
      let last = top ? { seq: Number(top.seq), hash: top.hash } : undefined;
      const out: AuditRecord[] = [];
      for (const packet of packets) {
        const seen = existing.get(packet.packetId);
        if (seen) {
          out.push(seen);
          continue;
        }
        const record = chainRecord(last, packet, new Date().toISOString());
        await c.query(
          `INSERT INTO ${t} (seq, packet_id, prev_hash, hash, recorded_at, packet) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
          [record.seq, packet.packetId, record.prevHash, record.hash, record.recordedAt, JSON.stringify(packet)],
        );
        existing.set(packet.packetId, record);
        last = { seq: record.seq, hash: record.hash };
        out.push(record);
      }
      return out;
    });
  }

  private parse(row: Row): AuditRecord {
    const parsed = AuditRecord.safeParse(toRaw(row));
    if (!parsed.success) throw new AuditLogCorruptError(`${this.location} row seq ${row.seq} does not parse: ${parsed.error.message}`, this.location);
    return parsed.data;
  }

  /** Rows in seq order, a page at a time. */
  private async *rows(incidentId?: string): AsyncIterable<Row> {
    await this.init();
    let after = 0;
    for (;;) {
      const page = await this.pool.query<Row>(
        `SELECT seq, prev_hash, hash, recorded_at, packet FROM ${this.table.sql}
         WHERE seq > $1 AND ($2::text IS NULL OR packet->>'incidentId' = $2) ORDER BY seq LIMIT 1000`,
        [after, incidentId ?? null],
      );
      yield* page.rows;
      const lastRow = page.rows[page.rows.length - 1];
      if (!lastRow || page.rows.length < 1000) return;
      after = Number(lastRow.seq);
    }
  }

  async *records(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    for await (const row of this.rows(filter.incidentId)) yield this.parse(row);
  }

  async verify(): Promise<ChainVerification> {
    return verifyChain(this.rawRecords());
  }

  private async *rawRecords(): AsyncIterable<unknown> {
    for await (const row of this.rows()) yield toRaw(row);
  }

  async close(): Promise<void> {
    await this.queue.idle();
    if (this.ownPool) await this.pool.end();
  }
}
