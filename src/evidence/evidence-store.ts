/**
 * Keeps raw evidence (telemetry an analysis read, tool-call records) out of Temporal
 * history: files under <dataDir>/evidence/<incident>/, each addressed by a reference
 * and checked by its SHA-256 digest. The workflow only carries references and digests.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Stable JSON: keys sorted, so equal values have equal digests. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120);
}

export class EvidenceStore {
  constructor(private readonly dir: string) {}

  private incidentDir(incidentId: string): string {
    return join(this.dir, safeName(incidentId));
  }

  /** Stores a JSON document; returns its reference (a path relative to the store) and digest. */
  async put(incidentId: string, name: string, data: unknown): Promise<{ ref: string; digest: string }> {
    const body = canonicalJson(data);
    const digest = sha256(body);
    const dir = this.incidentDir(incidentId);
    await mkdir(dir, { recursive: true });
    const file = `${safeName(name)}.json`;
    await writeFile(join(dir, file), body);
    return { ref: `${safeName(incidentId)}/${file}`, digest };
  }

  async get(ref: string): Promise<unknown> {
    return JSON.parse(await readFile(join(this.dir, ref), 'utf8'));
  }

  /** Appends one record to the incident's tool-call log. */
  async appendToolCall(incidentId: string, record: Record<string, unknown>): Promise<void> {
    const dir = this.incidentDir(incidentId);
    await mkdir(dir, { recursive: true });
    await appendFile(join(dir, 'tool-calls.jsonl'), `${JSON.stringify(record)}\n`);
  }

  async toolCalls(incidentId: string): Promise<Record<string, unknown>[]> {
    try {
      const text = await readFile(join(this.incidentDir(incidentId), 'tool-calls.jsonl'), 'utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    } catch {
      return [];
    }
  }
}
