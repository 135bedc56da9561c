/** The audit log (proof of action): evidence packets, hash-chained stores, redaction, verification, export. */
export * from './evidence-packet.js';
export * from './audit-log.js';
export * from './redaction.js';
export * from './audit-config.js';
export { canonicalJson, sha256Hex } from './canonical-json.js';
export { JsonlAuditStore, type JsonlAuditStoreOptions } from './jsonl-audit-store.js';
export { openAuditStore } from './open-audit-store.js';
export { exportIncident, type IncidentExport } from './export-incident.js';
export { createAuditActivities, AUDIT_PACKET_INVALID } from './audit-activities.js';
export { PostgresAuditStore, type PostgresAuditStoreOptions } from './postgres-audit-store.js';
