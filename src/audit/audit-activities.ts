/**
 * The activity that records evidence, for the worker to register beside the others:
 * `{ ...createActivities(deps), ...createAuditActivities(auditStore) }`. Workflows build
 * the packet (plain JSON, evidence-packet.ts is a pure module) and call `recordEvidence`;
 * only `{ seq, hash }` comes back, so history stays small. A retried call with the same
 * `packetId` returns the first record instead of appending twice.
 */
import { ApplicationFailure } from '@temporalio/common';
import { AuditPacketInvalidError, type AuditStore } from './audit-log.js';
import type { EvidencePacketInput } from './evidence-packet.js';

/** ApplicationFailure type of an invalid packet (not retried: a retry cannot fix it). */
export const AUDIT_PACKET_INVALID = 'AuditPacketInvalid';

export function createAuditActivities(store: AuditStore) {
  return {
    async recordEvidence(input: { packet: EvidencePacketInput }): Promise<{ seq: number; hash: string }> {
      try {
        const record = await store.append(input.packet);
        return { seq: record.seq, hash: record.hash };
      } catch (err) {
        if (err instanceof AuditPacketInvalidError) {
          throw ApplicationFailure.create({ type: AUDIT_PACKET_INVALID, nonRetryable: true, message: err.message });
        }
        throw err;
      }
    },
  };
}
