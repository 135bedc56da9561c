/**
 * Evidence the CLI itself records: decisions refused before they reached the workflow
 * (an update validator's refusal never enters history) and kill-switch changes.
 */
import { randomUUID } from 'node:crypto';
import type { EvidencePacketInput } from '../audit/evidence-packet.js';
import { openAuditStore } from '../audit/open-audit-store.js';
import type { VigilConfig } from '../schemas/config.js';

export async function appendCliEvidence(config: VigilConfig, policyVersion: string, body: Omit<EvidencePacketInput, 'packetId' | 'timestamp' | 'agentVersion'>): Promise<void> {
  const store = await openAuditStore(config.audit, config.dataDir);
  try {
    await store.append({
      ...body,
      packetId: `cli/${randomUUID()}`,
      timestamp: new Date().toISOString(),
      agentVersion: { workflowBuildId: 'vigil-cli', policyVersion },
    });
  } finally {
    await store.close();
  }
}
