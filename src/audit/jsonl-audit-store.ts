/**
 * The default audit store: one JSON record per line in a file (`<dataDir>/audit.jsonl`).
 *
 * Concurrency:
 * - In one process, every store on the same path shares one writer, which queues appends
 *   and commits them in batches (GroupCommit): callers never interleave.
 * - Across processes (a worker and the CLI, two workers), each batch is written under a
 *   lock file (`<file>.lock`, file-lock.ts). Holding it, the writer reads whatever other
 *   processes appended since its last batch (from its last known offset to the end), so it
 *   chains onto the true last record, then writes the batch with one write() on an
 *   O_APPEND descriptor and fsyncs before releasing the lock and resolving the callers.
 * - Readers (records, verify) take the lock only to read the file size, then read that
 *   snapshot without holding it; a file in a read-only place is read without the lock.
 * - If the last line is incomplete (a crash mid-write), appending stops with
 *   AuditLogCorruptError rather than chaining onto a record nobody can verify.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  AuditLogCorruptError,
  AuditRecord,
  GroupCommit,
  UnparseableRecord,
  chainRecord,
  preparePacket,
  verifyChain,
  type AuditFilter,
  type AuditStore,
  type ChainVerification,
} from './audit-log.js';
import type { EvidencePacket, EvidencePacketInput } from './evidence-packet.js';
import { acquireFileLock, type FileLockOptions } from './file-lock.js';
import { createRedactor, type RedactionConfig, type Redactor } from './redaction.js';

export interface JsonlAuditStoreOptions {
  redaction?: Partial<RedactionConfig>;
  /** fsync after each batch. @default true */
  fsync?: boolean;
  lock?: FileLockOptions;
}

interface Pending {
  packet: EvidencePacket;
  sync: boolean;
  lock: FileLockOptions;
}

/** Where a packet id was written, to answer a retried append with the first record. */
interface IndexEntry {
  offset: number;
  length: number;
}

class JsonlWriter {
  private offset = 0;
  private ino = -1;
  private last: { seq: number; hash: string } | undefined;
  private readonly index = new Map<string, IndexEntry>();
  readonly queue: GroupCommit<Pending, AuditRecord>;

  constructor(private readonly file: string) {
    this.queue = new GroupCommit((items) => this.commit(items));
  }

  private async commit(items: Pending[]): Promise<AuditRecord[]> {
    await mkdir(dirname(this.file), { recursive: true });
    const lock = await acquireFileLock(`${this.file}.lock`, items[0]?.lock);
    try {
      await this.catchUp();
      const fh = await open(this.file, 'a');
      try {
        const out: AuditRecord[] = [];
        const lines: string[] = [];
        const fresh = new Map<string, AuditRecord>();
        let offset = this.offset;
        for (const { packet } of items) {
          const seen = fresh.get(packet.packetId) ?? (await this.readIndexed(packet.packetId));
          if (seen) {
            out.push(seen);
            continue;
          }
          const record = chainRecord(this.last, packet, new Date().toISOString());
          const line = `${JSON.stringify(record)}\n`;
          const length = Buffer.byteLength(line);
          this.index.set(packet.packetId, { offset, length });
          offset += length;
          this.last = { seq: record.seq, hash: record.hash };
          fresh.set(packet.packetId, record);
          lines.push(line);
          out.push(record);
        }
        if (lines.length > 0) {
          await fh.appendFile(lines.join('')); // loops until every byte is written
          if (items.some((i) => i.sync)) await fh.sync();
          this.offset = offset;
        }
        return out;
      } finally {
        await fh.close();
      }
    } catch (err) {
      this.ino = -1; // re-read everything next time: our view may be ahead of the file
      throw err;
    } finally {
      await lock.release();
    }
  }

  /** Reads what other processes appended since our last batch (all of it the first time). */
  private async catchUp(): Promise<void> {
    let st;
    try {
      st = await stat(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.reset(-1);
      return;
    }
    if (st.ino !== this.ino || st.size < this.offset) this.reset(st.ino);
    if (st.size === this.offset) return;
    const fh = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(st.size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      const data = buf.subarray(0, bytesRead);
      let start = 0;
      let lastText: string | undefined;
      for (let nl = data.indexOf(10, start); nl !== -1; nl = data.indexOf(10, start)) {
        const text = data.subarray(start, nl).toString('utf8');
        if (text.trim()) {
          this.noteLine(text, this.offset + start, nl + 1 - start);
          lastText = text;
        }
        start = nl + 1;
      }
      if (start < data.length) {
        throw new AuditLogCorruptError(
          `${this.file} ends with an incomplete record at byte ${this.offset + start}; run \`vigil audit verify\` and repair the file before appending`,
          this.file,
        );
      }
      if (lastText !== undefined) {
        const last = parseLine(lastText);
        if (!last) throw new AuditLogCorruptError(`the last record of ${this.file} is not a valid audit record; cannot chain onto it`, this.file);
        this.last = last;
      }
      this.offset += start;
    } finally {
      await fh.close();
    }
  }

  private noteLine(text: string, offset: number, length: number): void {
    try {
      const id = (JSON.parse(text) as { packet?: { packetId?: unknown } }).packet?.packetId;
      if (typeof id === 'string' && !this.index.has(id)) this.index.set(id, { offset, length });
    } catch {
      /* a damaged record in the middle: verify reports it; appends go on */
    }
  }

  private async readIndexed(packetId: string): Promise<AuditRecord | undefined> {
    const at = this.index.get(packetId);
    if (!at) return undefined;
    const fh = await open(this.file, 'r');
    try {
      const buf = Buffer.alloc(at.length);
      await fh.read(buf, 0, at.length, at.offset);
      const parsed = AuditRecord.safeParse(JSON.parse(buf.toString('utf8')));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined;
    } finally {
      await fh.close();
    }
  }

  private reset(ino: number): void {
    this.ino = ino;
    this.offset = 0;
    this.last = undefined;
    this.index.clear();
  }
}

function parseLine(text: string): { seq: number; hash: string } | undefined {
  try {
    const v = JSON.parse(text) as { seq?: unknown; hash?: unknown };
    return typeof v.seq === 'number' && typeof v.hash === 'string' ? { seq: v.seq, hash: v.hash } : undefined;
  } catch {
    return undefined;
  }
}

/** One writer per resolved path in this process. */
const writers = new Map<string, JsonlWriter>();

export class JsonlAuditStore implements AuditStore {
  readonly location: string;
  private readonly redact: Redactor;
  private readonly sync: boolean;
  private readonly writer: JsonlWriter;
  private readonly lockOptions: FileLockOptions;

  constructor(file: string, opts: JsonlAuditStoreOptions = {}) {
    this.location = resolve(file);
    this.redact = createRedactor(opts.redaction);
    this.sync = opts.fsync ?? true;
    this.lockOptions = opts.lock ?? {};
    let writer = writers.get(this.location);
    if (!writer) {
      writer = new JsonlWriter(this.location);
      writers.set(this.location, writer);
    }
    this.writer = writer;
  }

  append(input: EvidencePacketInput): Promise<AuditRecord> {
    let packet: EvidencePacket;
    try {
      packet = preparePacket(input, this.redact);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.writer.queue.submit({ packet, sync: this.sync, lock: this.lockOptions });
  }

  async *records(filter: AuditFilter = {}): AsyncIterable<AuditRecord> {
    for await (const raw of this.raw()) {
      if (raw instanceof UnparseableRecord) throw new AuditLogCorruptError(`${this.location} holds a line that is not JSON: ${raw.error}`, this.location);
      const parsed = AuditRecord.safeParse(raw);
      if (!parsed.success) throw new AuditLogCorruptError(`${this.location} holds a record that does not parse: ${parsed.error.message}`, this.location);
      if (filter.incidentId === undefined || parsed.data.packet.incidentId === filter.incidentId) yield parsed.data;
    }
  }

  verify(): Promise<ChainVerification> {
    return verifyChain(this.raw());
  }

  /** The stored records as parsed JSON (or UnparseableRecord), from a size snapshot. */
  async *raw(): AsyncIterable<unknown> {
    const size = await this.snapshotSize();
    if (size === 0) return;
    const lines = createInterface({ input: createReadStream(this.location, { start: 0, end: size - 1 }), crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        try {
          yield JSON.parse(line) as unknown;
        } catch (err) {
          yield new UnparseableRecord(line, (err as Error).message);
        }
      }
    } finally {
      lines.close();
    }
  }

  private async snapshotSize(): Promise<number> {
    let lock;
    try {
      lock = await acquireFileLock(`${this.location}.lock`, { ...this.lockOptions, timeoutMs: this.lockOptions.timeoutMs ?? 10_000 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A read-only copy (an auditor's) or a missing directory: read without the lock.
      if (code !== 'EACCES' && code !== 'EROFS' && code !== 'EPERM' && code !== 'ENOENT') throw err;
    }
    try {
      return (await stat(this.location)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    } finally {
      await lock?.release();
    }
  }

  /** Waits for this process's queued appends to this file. */
  async close(): Promise<void> {
    await this.writer.queue.idle();
  }
}
