/**
 * The audit log: an append-only, hash-chained sequence of evidence packets.
 *
 * Each record is `{ seq, prevHash, hash, recordedAt, packet }`: `seq` counts from 1 with
 * no gaps, `prevHash` is the previous record's `hash` (64 zeros for the first), and
 * `hash` is the SHA-256 of the record's canonical JSON (canonical-json.ts) without
 * `hash`. The packet is validated and redacted before it is hashed, so what is hashed is
 * exactly what is stored. Editing a record breaks its hash; deleting, inserting or
 * reordering records breaks `seq` or `prevHash`. Cutting records off the end is not
 * detectable from the log alone: keep the head (`count`, `headHash` of verifyChain)
 * somewhere else when that matters (an export, a ticket, a report).
 *
 * Stores (jsonl-audit-store.ts, postgres-audit-store.ts) implement AuditStore; both are
 * idempotent on `packet.packetId` so an activity retried by Temporal records a step once.
 */
import { z } from 'zod';
import { canonicalJson, sha256Hex } from './canonical-json.js';
import { EvidencePacket, type EvidencePacketInput } from './evidence-packet.js';
import type { Redactor } from './redaction.js';

export const GENESIS_HASH = '0'.repeat(64);

const HashHex = z.string().regex(/^[0-9a-f]{64}$/);

export const AuditRecord = z.object({
  seq: z.number().int().positive(),
  prevHash: HashHex,
  hash: HashHex,
  recordedAt: z.iso.datetime().describe('when the log accepted the packet'),
  packet: EvidencePacket,
});
export type AuditRecord = z.infer<typeof AuditRecord>;

export type ChainVerification =
  | { ok: true; count: number; headHash: string }
  | { ok: false; count: number; firstBroken: { seq: number; position: number; reason: string } };

export interface AuditFilter {
  incidentId?: string;
}

export interface AuditStore {
  /** Validates, redacts, chains and durably writes one packet. Same `packetId` again: the first record. */
  append(packet: EvidencePacketInput): Promise<AuditRecord>;
  /** The records in chain order, optionally only one incident's. */
  records(filter?: AuditFilter): AsyncIterable<AuditRecord>;
  /** Verifies the whole chain from the stored bytes. */
  verify(): Promise<ChainVerification>;
  /** Where the log lives, for messages ("/x/.vigil/audit.jsonl", "postgres public.vigil_audit"). */
  readonly location: string;
  close(): Promise<void>;
}

/** Thrown by `append` for a packet that does not match the EvidencePacket schema. */
export class AuditPacketInvalidError extends Error {
  override readonly name = 'AuditPacketInvalidError';
  constructor(readonly details: string) {
    super(`invalid evidence packet:\n${details}`);
  }
}

/** Thrown when the log cannot be appended to safely (e.g. its last record is incomplete). */
export class AuditLogCorruptError extends Error {
  override readonly name = 'AuditLogCorruptError';
  constructor(
    message: string,
    readonly location: string,
  ) {
    super(message);
  }
}

/** Thrown when another process holds the log's lock for longer than the timeout. */
export class AuditLockTimeoutError extends Error {
  override readonly name = 'AuditLockTimeoutError';
  constructor(
    readonly lockPath: string,
    readonly holder: string,
  ) {
    super(`timed out waiting for the audit log lock ${lockPath} (held by ${holder || 'unknown'})`);
  }
}

/** The hash of a record: SHA-256 over its canonical JSON without the `hash` member. */
export function hashRecord(record: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = record;
  return sha256Hex(canonicalJson(rest));
}

/** Builds the next record of a chain (the caller holds whatever lock serializes the chain). */
export function chainRecord(prev: { seq: number; hash: string } | undefined, packet: EvidencePacket, recordedAt: string): AuditRecord {
  const body = { seq: (prev?.seq ?? 0) + 1, prevHash: prev?.hash ?? GENESIS_HASH, recordedAt, packet };
  return { ...body, hash: hashRecord(body) };
}

/** Validates and redacts a packet: what a store chains and writes. */
export function preparePacket(input: EvidencePacketInput, redact: Redactor): EvidencePacket {
  const parsed = EvidencePacket.safeParse(input);
  if (!parsed.success) throw new AuditPacketInvalidError(z.prettifyError(parsed.error));
  return redact(parsed.data) as EvidencePacket;
}

/** A stored line that is not JSON; verifyChain reports it as a broken record. */
export class UnparseableRecord {
  constructor(
    readonly text: string,
    readonly error: string,
  ) {}
}

const Envelope = z.looseObject({
  seq: z.number().int(),
  prevHash: z.string(),
  hash: z.string(),
  packet: z.record(z.string(), z.unknown()),
});

/**
 * Checks a chain from its stored form (parsed JSON, not schema-parsed records, so that
 * nothing is normalised away). Stops at the first broken record: an edited record fails
 * its hash; a deleted, inserted or reordered one shows as a `seq` or `prevHash` mismatch
 * at the record that follows it.
 */
export async function verifyChain(records: Iterable<unknown> | AsyncIterable<unknown>): Promise<ChainVerification> {
  let prevHash = GENESIS_HASH;
  let position = 0;
  for await (const raw of records) {
    position += 1;
    const broken = (seq: number, reason: string): ChainVerification => ({ ok: false, count: position - 1, firstBroken: { seq, position, reason } });
    if (raw instanceof UnparseableRecord) return broken(position, `not valid JSON (${raw.error})`);
    const env = Envelope.safeParse(raw);
    if (!env.success) return broken(position, `not an audit record (${z.prettifyError(env.error).replace(/\s+/g, ' ')})`);
    const rec = env.data;
    if (hashRecord(raw as Record<string, unknown>) !== rec.hash) return broken(rec.seq, 'hash mismatch: the record was changed after it was written');
    if (rec.seq !== position) {
      return broken(rec.seq, `seq ${rec.seq} where ${position} was expected: a record before it was deleted, or records were inserted or reordered`);
    }
    if (rec.prevHash !== prevHash) {
      return broken(rec.seq, `prevHash does not match the hash of record ${position - 1}: the previous record was replaced, or records were removed or reordered`);
    }
    prevHash = rec.hash;
  }
  return { ok: true, count: position, headHash: prevHash };
}

/**
 * Serializes appends from many async callers and commits them in batches (group
 * commit): one lock, one tail read, one write and one fsync for everything queued while
 * the previous batch was being written. Each caller gets its own result or error.
 */
export class GroupCommit<T, R> {
  private pending: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 256,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Resolves once everything submitted so far is committed (or failed). */
  async idle(): Promise<void> {
    while (this.running || this.pending.length > 0) await new Promise((r) => setTimeout(r, 2));
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length > 0) {
        const batch = this.pending.splice(0, this.maxBatch);
        try {
          const results = await this.commit(batch.map((b) => b.item));
          batch.forEach((b, i) => b.resolve(results[i] as R));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
