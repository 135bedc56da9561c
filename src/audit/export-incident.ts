/**
 * The document an auditor receives for one incident: its packets in chain order with
 * their seq and hashes, and the verification of the whole chain they belong to (an
 * incident's records are interleaved with others', so only the whole log can vouch for
 * them; `chain.headHash` lets a later reader check the log was not cut short since).
 */
import type { AuditStore, ChainVerification } from './audit-log.js';
import type { EvidencePacket } from './evidence-packet.js';

export interface IncidentExport {
  format: 'vigil-audit-export/1';
  incidentId: string;
  generatedAt: string;
  source: string;
  chain: ChainVerification;
  records: { seq: number; prevHash: string; hash: string; recordedAt: string; packet: EvidencePacket }[];
}

export async function exportIncident(store: AuditStore, incidentId: string, now: () => Date = () => new Date()): Promise<IncidentExport> {
  const chain = await store.verify();
  const records: IncidentExport['records'] = [];
  for await (const r of store.records({ incidentId })) records.push({ seq: r.seq, prevHash: r.prevHash, hash: r.hash, recordedAt: r.recordedAt, packet: r.packet });
  return { format: 'vigil-audit-export/1', incidentId, generatedAt: now().toISOString(), source: store.location, chain, records };
}
