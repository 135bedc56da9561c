/** Opens the configured audit store: the JSONL file by default, PostgreSQL when configured. */
import type { AuditStore } from './audit-log.js';
import { defaultAuditFile, type AuditConfig } from './audit-config.js';
import { JsonlAuditStore } from './jsonl-audit-store.js';

export async function openAuditStore(config: AuditConfig, dataDir: string): Promise<AuditStore> {
  if (config.store === 'postgres') {
    const { PostgresAuditStore } = await import('./postgres-audit-store.js');
    const store = new PostgresAuditStore({ ...config.postgres, redaction: config.redaction });
    await store.init();
    return store;
  }
  return new JsonlAuditStore(config.file ?? defaultAuditFile(dataDir), { redaction: config.redaction, fsync: config.fsync });
}
