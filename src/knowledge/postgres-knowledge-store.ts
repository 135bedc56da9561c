/**
 * The PostgreSQL knowledge store, for teams that run several workers: past incidents and
 * the runbook index in tables with a generated `tsvector` (English configuration, GIN
 * index), ranked with `ts_rank` against an OR of the query's words; embeddings cached in
 * a table keyed by content hash, so every worker shares them. Vector similarity is
 * computed in the worker from those cached vectors (pgvector is not used: it is not
 * packaged for the PostgreSQL this project targets, Debian 12's 15).
 *
 * The schema is created by numbered migrations, applied once each under a
 * transaction-scoped advisory lock and recorded in `<schema>.schema_migrations`, so any
 * number of workers may start at once.
 */
import pg from 'pg';
import { IncidentStatus } from '../schemas/incident.js';
import { describeIncident, confirmedRootCause } from './past-incidents.js';
import { describeRunbook, remember, type KnowledgeStore, type ListIncidentsOptions, type ScoredIncident } from './knowledge-store.js';
import type { Runbook } from './runbooks.js';
import { createHash } from 'node:crypto';

export interface PostgresKnowledgeStoreOptions {
  /** libpq connection string; without it the PG* environment variables apply. */
  connectionString?: string;
  /** Schema of the tables (created if missing). @default "vigil_knowledge" */
  schema?: string;
  /** An existing pool (not closed by close()). */
  pool?: pg.Pool;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Numbered migrations; never edit a published one, append a new one. */
function migrations(s: string): string[][] {
  return [
    [
      `CREATE TABLE ${s}.incidents (
        incident_id text PRIMARY KEY,
        closed_at timestamptz,
        title text NOT NULL,
        root_cause_service text,
        doc text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', doc)) STORED,
        report jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE INDEX incidents_tsv ON ${s}.incidents USING gin (tsv)`,
      `CREATE INDEX incidents_closed_at ON ${s}.incidents (closed_at DESC)`,
      `CREATE TABLE ${s}.runbooks (
        id text PRIMARY KEY,
        path text NOT NULL,
        content_hash text NOT NULL,
        doc text NOT NULL,
        tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', doc)) STORED,
        updated_at timestamptz NOT NULL DEFAULT now())`,
      `CREATE INDEX runbooks_tsv ON ${s}.runbooks USING gin (tsv)`,
      `CREATE TABLE ${s}.embeddings (
        content_hash text PRIMARY KEY,
        model text NOT NULL,
        dims integer NOT NULL,
        vector real[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now())`,
    ],
  ];
}

/** An OR of the distinct words of `text` as a tsquery source ('' when none). */
export function orQuery(text: string, maxTerms = 64): string {
  const words = [...new Set(text.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1))].slice(0, maxTerms);
  return words.join(' | ');
}

export class PostgresKnowledgeStore implements KnowledgeStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private readonly ownPool: boolean;
  private readonly schema: string;
  private readonly memory = new Map<string, number[]>();
  /** Runbook content hashes known to be in the table. */
  private readonly indexedRunbooks = new Map<string, string>();
  private ready: Promise<void> | undefined;

  constructor(opts: PostgresKnowledgeStoreOptions = {}) {
    const schema = opts.schema ?? 'vigil_knowledge';
    if (!IDENT.test(schema)) throw new Error(`invalid knowledge schema name "${schema}"`);
    this.schema = `"${schema}"`;
    this.location = `postgres schema ${schema}`;
    this.ownPool = !opts.pool;
    this.pool =
      opts.pool ??
      new pg.Pool({ ...(opts.connectionString ? { connectionString: opts.connectionString } : {}), max: 4, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, statement_timeout: 10_000 });
    // An idle client's error (server restart) must not crash the worker; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Applies the pending migrations (idempotent; safe from several processes at once). */
  init(): Promise<void> {
    this.ready ??= this.migrate().catch((err: unknown) => {
      this.ready = undefined;
      throw err;
    });
    return this.ready;
  }

  /** Migrations applied so far (for tests and `vigil` diagnostics). */
  async schemaVersion(): Promise<number> {
    await this.init();
    const r = await this.pool.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${this.schema}.schema_migrations`);
    return r.rows[0]?.v ?? 0;
  }

  private async migrate(): Promise<void> {
    const s = this.schema;
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vigil-knowledge:${s}`]);
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
      await c.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Set((await c.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map((r) => r.version));
      const all = migrations(s);
      for (let i = 0; i < all.length; i++) {
        const version = i + 1;
        if (done.has(version)) continue;
        for (const sql of all[i] ?? []) await c.query(sql);
        await c.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [version]);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  async putIncident(report: IncidentStatus): Promise<void> {
    await this.init();
    const closedAt = report.timeline[report.timeline.length - 1]?.at ?? null;
    await this.pool.query(
      `INSERT INTO ${this.schema}.incidents (incident_id, closed_at, title, root_cause_service, doc, report)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb)
       ON CONFLICT (incident_id) DO UPDATE SET closed_at = EXCLUDED.closed_at, title = EXCLUDED.title,
         root_cause_service = EXCLUDED.root_cause_service, doc = EXCLUDED.doc, report = EXCLUDED.report, updated_at = now()`,
      [report.incidentId, closedAt, report.title, confirmedRootCause(report) ?? null, describeIncident(report), JSON.stringify(report)],
    );
  }

  private parseReports(rows: { report: unknown }[]): IncidentStatus[] {
    return rows.flatMap((r) => {
      const parsed = IncidentStatus.safeParse(r.report);
      return parsed.success ? [parsed.data] : []; // an entry of another version is skipped, not fatal
    });
  }

  async getIncident(incidentId: string): Promise<IncidentStatus | null> {
    await this.init();
    const r = await this.pool.query<{ report: unknown }>(`SELECT report FROM ${this.schema}.incidents WHERE incident_id = $1`, [incidentId]);
    return this.parseReports(r.rows)[0] ?? null;
  }

  async searchIncidents(query: string, opts: { limit: number; excludeId?: string }): Promise<ScoredIncident[]> {
    await this.init();
    const q = orQuery(query);
    if (!q) return [];
    const r = await this.pool.query<{ report: unknown; score: number }>(
      `SELECT report, ts_rank(tsv, q)::float8 AS score
       FROM ${this.schema}.incidents, to_tsquery('english', $1) AS q
       WHERE tsv @@ q AND ($2::text IS NULL OR incident_id <> $2)
       ORDER BY score DESC, incident_id LIMIT $3`,
      [q, opts.excludeId ?? null, opts.limit],
    );
    const scores = r.rows.map((row) => row.score);
    return this.parseReports(r.rows).map((incident, i) => ({ incident, score: scores[i] ?? 0 }));
  }

  async listIncidents(opts: ListIncidentsOptions): Promise<IncidentStatus[]> {
    if (opts.closedSince !== undefined && !Number.isFinite(Date.parse(opts.closedSince))) throw new Error(`closedSince is not a time: "${opts.closedSince}"`);
    await this.init();
    const r = await this.pool.query<{ report: unknown }>(
      `SELECT report FROM ${this.schema}.incidents
       WHERE ($1::text IS NULL OR incident_id <> $1) AND ($3::timestamptz IS NULL OR closed_at >= $3)
       ORDER BY closed_at DESC NULLS LAST, incident_id LIMIT $2`,
      [opts.excludeId ?? null, opts.limit, opts.closedSince ?? null],
    );
    return this.parseReports(r.rows);
  }

  /** Upserts the runbooks whose text changed into the index, then ranks them with ts_rank. */
  async rankRunbooks(runbooks: Runbook[], query: string): Promise<Map<string, number>> {
    await this.init();
    const docs = runbooks.map((rb) => {
      const doc = describeRunbook(rb);
      return { rb, doc, hash: createHash('sha256').update(doc).digest('hex') };
    });
    for (const d of docs) {
      if (this.indexedRunbooks.get(d.rb.id) === d.hash) continue;
      await this.pool.query(
        `INSERT INTO ${this.schema}.runbooks (id, path, content_hash, doc) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET path = EXCLUDED.path, content_hash = EXCLUDED.content_hash, doc = EXCLUDED.doc, updated_at = now()
         WHERE ${this.schema}.runbooks.content_hash <> EXCLUDED.content_hash`,
        [d.rb.id, d.rb.path, d.hash, d.doc],
      );
      this.indexedRunbooks.set(d.rb.id, d.hash);
    }
    const out = new Map(runbooks.map((rb) => [rb.id, 0]));
    const q = orQuery(query);
    if (!q || runbooks.length === 0) return out;
    const r = await this.pool.query<{ id: string; score: number }>(
      `SELECT id, ts_rank(tsv, q)::float8 AS score FROM ${this.schema}.runbooks, to_tsquery('english', $1) AS q
       WHERE id = ANY($2::text[]) AND tsv @@ q`,
      [q, runbooks.map((rb) => rb.id)],
    );
    for (const row of r.rows) out.set(row.id, row.score);
    return out;
  }

  async getEmbeddings(keys: string[]): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    const missing: string[] = [];
    for (const k of keys) {
      const v = this.memory.get(k);
      if (v) out.set(k, v);
      else missing.push(k);
    }
    if (missing.length === 0) return out;
    await this.init();
    const r = await this.pool.query<{ content_hash: string; vector: number[] }>(`SELECT content_hash, vector FROM ${this.schema}.embeddings WHERE content_hash = ANY($1::text[])`, [missing]);
    for (const row of r.rows) {
      const v = row.vector.map(Number);
      remember(this.memory, row.content_hash, v);
      out.set(row.content_hash, v);
    }
    return out;
  }

  async putEmbeddings(entries: { key: string; model: string; vector: number[] }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.init();
    for (const e of entries) {
      remember(this.memory, e.key, e.vector);
      await this.pool.query(
        `INSERT INTO ${this.schema}.embeddings (content_hash, model, dims, vector) VALUES ($1, $2, $3, $4::real[]) ON CONFLICT (content_hash) DO NOTHING`,
        [e.key, e.model, e.vector.length, e.vector],
      );
    }
  }

  async close(): Promise<void> {
    if (this.ownPool) await this.pool.end();
  }
}
