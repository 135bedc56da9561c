/**
 * The audit log's configuration: which store, where, and what to redact. It is read
 * from the `audit:` section of vigil.yaml (the same file as --config / $VIGIL_CONFIG)
 * and the environment:
 *   VIGIL_AUDIT_STORE (jsonl|postgres), VIGIL_AUDIT_FILE, VIGIL_AUDIT_PG_URL,
 *   VIGIL_AUDIT_PG_TABLE, VIGIL_AUDIT_PII_FIELDS (comma-separated), VIGIL_AUDIT_DIGEST_KEY.
 *
 * ```yaml
 * audit:
 *   store: postgres
 *   postgres: { connectionString: postgres://vigil@db/vigil, table: audit.records }
 *   redaction:
 *     piiFields: [email, actor.id, toolCalls.input.customer.phone]
 *     digestKey: ${from a secret store}
 * ```
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RedactionConfig } from './redaction.js';

export const AuditConfig = z.object({
  store: z.enum(['jsonl', 'postgres']).default('jsonl'),
  file: z.string().min(1).optional().describe('JSONL file; default <dataDir>/audit.jsonl'),
  fsync: z.boolean().default(true).describe('fsync the JSONL file after each batch of appends'),
  postgres: z
    .object({
      connectionString: z.string().min(1).optional().describe('default: the PG* environment variables'),
      table: z.string().min(1).default('vigil_audit').describe('optionally schema-qualified'),
    })
    .default({ table: 'vigil_audit' }),
  redaction: RedactionConfig.default({ piiFields: [], piiPatterns: [] }),
});
export type AuditConfig = z.infer<typeof AuditConfig>;

/** Thrown for an invalid `audit:` section. */
export class AuditConfigError extends Error {
  override readonly name = 'AuditConfigError';
}

export function defaultAuditFile(dataDir: string): string {
  return join(dataDir, 'audit.jsonl');
}

/** The `audit:` section of a vigil.yaml (if any) with the environment applied. */
export function loadAuditConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): AuditConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env['VIGIL_CONFIG'];
  let section: Record<string, unknown> = {};
  if (file) {
    try {
      const doc = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
      section = (doc['audit'] as Record<string, unknown> | undefined) ?? {};
    } catch (err) {
      throw new AuditConfigError(`cannot read config ${file}: ${(err as Error).message}`);
    }
  }
  const merged: Record<string, unknown> = { ...section };
  const postgres = { ...((section['postgres'] as object | undefined) ?? {}) } as Record<string, unknown>;
  const redaction = { ...((section['redaction'] as object | undefined) ?? {}) } as Record<string, unknown>;
  if (env['VIGIL_AUDIT_STORE']) merged['store'] = env['VIGIL_AUDIT_STORE'];
  if (env['VIGIL_AUDIT_FILE']) merged['file'] = env['VIGIL_AUDIT_FILE'];
  if (env['VIGIL_AUDIT_PG_URL']) postgres['connectionString'] = env['VIGIL_AUDIT_PG_URL'];
  if (env['VIGIL_AUDIT_PG_TABLE']) postgres['table'] = env['VIGIL_AUDIT_PG_TABLE'];
  if (env['VIGIL_AUDIT_PII_FIELDS']) redaction['piiFields'] = env['VIGIL_AUDIT_PII_FIELDS'].split(',').map((s) => s.trim()).filter(Boolean);
  if (env['VIGIL_AUDIT_DIGEST_KEY']) redaction['digestKey'] = env['VIGIL_AUDIT_DIGEST_KEY'];
  merged['postgres'] = postgres;
  merged['redaction'] = redaction;
  const parsed = AuditConfig.safeParse(merged);
  if (!parsed.success) throw new AuditConfigError(`invalid audit configuration${file ? ` in ${file}` : ''}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
