/**
 * The canonical JSON the audit chain hashes: JSON.stringify semantics (toJSON applied,
 * undefined object members dropped, undefined array items and non-finite numbers as
 * null) with object keys sorted by UTF-16 code unit at every level and no whitespace.
 * This format is part of the audit log's contract: changing it breaks every stored chain.
 */
import { createHash } from 'node:crypto';

export function canonicalJson(value: unknown): string {
  const plain: unknown = value === undefined ? null : JSON.parse(JSON.stringify(value));
  return write(plain);
}

function write(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(write).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${write((v as Record<string, unknown>)[k])}`).join(',')}}`;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
