/**
 * `vigil audit verify [<path> | --pg] [--json]`: checks the audit log's hash chain.
 * Exit 0 with "ok: N records, chain intact", or 1 naming the first broken record.
 * `vigil audit export <incident-id> [--out file] [--file <path> | --pg]`: writes one
 * incident's packets, in order with their hashes and the chain's status, as one JSON
 * document for auditors (stdout without --out). Exit 1 if the chain is broken (the
 * document is still written) or the incident has no records.
 * The log is `<data-dir>/audit.jsonl`, or the `audit:` section of the config / $VIGIL_AUDIT_*.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { AuditLogCorruptError, type AuditStore, type ChainVerification } from '../audit/audit-log.js';
import { AuditConfigError, loadAuditConfig } from '../audit/audit-config.js';
import { exportIncident } from '../audit/export-incident.js';
import { JsonlAuditStore } from '../audit/jsonl-audit-store.js';
import { openAuditStore } from '../audit/open-audit-store.js';
import { CliError, dataDirOf, str } from './cli-common.js';

type Values = Record<string, string | boolean | undefined>;

async function openStore(v: Values, path: string | undefined): Promise<AuditStore> {
  if (path && v['pg']) throw new CliError('give a file or --pg, not both', 2, true);
  let config;
  try {
    config = loadAuditConfig({ ...(str(v['config']) ? { file: str(v['config']) } : {}) });
  } catch (err) {
    if (err instanceof AuditConfigError) throw new CliError(err.message);
    throw err;
  }
  let store: AuditStore;
  try {
    store = path ? new JsonlAuditStore(resolve(path)) : await openAuditStore(v['pg'] ? { ...config, store: 'postgres' } : config, dataDirOf(v));
  } catch (err) {
    throw new CliError(`cannot open the audit log: ${(err as Error).message}`);
  }
  if (store instanceof JsonlAuditStore && !existsSync(store.location)) throw new CliError(`no audit log at ${store.location}`);
  return store;
}

function describe(result: ChainVerification, location: string): string {
  return result.ok
    ? `ok: ${result.count} records, chain intact (${location}, head ${result.headHash})`
    : `broken: record seq ${result.firstBroken.seq} (record #${result.firstBroken.position} in ${location}): ${result.firstBroken.reason}; ${result.count} records before it are intact`;
}

export async function runAudit(v: Values, positionals: string[]): Promise<number> {
  const [sub, ...args] = positionals;
  if (sub === 'verify') return verify(v, args);
  if (sub === 'export') return exportCmd(v, args);
  throw new CliError(sub ? `unknown audit subcommand "${sub}"` : 'audit needs a subcommand: verify or export', 2, true);
}

async function verify(v: Values, args: string[]): Promise<number> {
  if (args.length > 1) throw new CliError('audit verify takes at most one path', 2, true);
  const store = await openStore(v, args[0] ?? str(v['file']));
  try {
    const result = await store.verify();
    if (v['json']) process.stdout.write(`${JSON.stringify({ location: store.location, ...result }, null, 2)}\n`);
    else (result.ok ? process.stdout : process.stderr).write(`${describe(result, store.location)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

async function exportCmd(v: Values, args: string[]): Promise<number> {
  const [incidentId, ...extra] = args;
  if (!incidentId || extra.length > 0) throw new CliError('audit export needs exactly one incident id', 2, true);
  const store = await openStore(v, str(v['file']));
  try {
    let doc;
    try {
      doc = await exportIncident(store, incidentId);
    } catch (err) {
      if (err instanceof AuditLogCorruptError) throw new CliError(`${err.message} (run \`vigil audit verify\`)`);
      throw err;
    }
    if (doc.records.length === 0) throw new CliError(`no audit records for incident "${incidentId}" in ${store.location}`);
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    const out = str(v['out']);
    if (out) {
      await writeFile(out, text);
      process.stderr.write(`wrote ${doc.records.length} records of ${incidentId} to ${out}\n`);
    } else {
      process.stdout.write(text);
    }
    if (!doc.chain.ok) {
      process.stderr.write(`warning: the audit chain is broken: ${describe(doc.chain, store.location)}\n`);
      return 1;
    }
    return 0;
  } finally {
    await store.close();
  }
}
