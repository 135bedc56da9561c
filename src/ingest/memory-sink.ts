/**
 * An in-memory AlertSink that records every delivery: for tests, the simulator and
 * running ingest without Temporal. Same contract as the real sink: one incident per
 * group key, idempotent per deliveryId.
 */
import { createHash } from 'node:crypto';
import type { AlertBatch } from '../schemas/alert.js';
import { SinkUnavailableError, type AlertSink, type DeliveredBatch } from './alert-sink.js';

export interface MemorySink extends AlertSink {
  /** Every deliver() call, in order, with the batches it was given. */
  readonly calls: AlertBatch[][];
  /** Distinct deliveries by deliveryId (redeliveries are not added twice). */
  readonly deliveries: Map<string, AlertBatch>;
  /** While false, deliver() throws SinkUnavailableError and ready() is false. */
  available: boolean;
}

/** `incident-` + 16 hex digits of SHA-256(groupKey): stable per group (same scheme as the Temporal sink). */
export function incidentIdForGroup(groupKey: string): string {
  return `incident-${createHash('sha256').update(groupKey).digest('hex').slice(0, 16)}`;
}

export function createMemorySink(options: { available?: boolean } = {}): MemorySink {
  const sink: MemorySink = {
    calls: [],
    deliveries: new Map(),
    available: options.available ?? true,
    async deliver(batches) {
      sink.calls.push(batches);
      if (!sink.available) throw new SinkUnavailableError('memory sink is set unavailable');
      const out: DeliveredBatch[] = [];
      for (const batch of batches) {
        if (!sink.deliveries.has(batch.deliveryId)) sink.deliveries.set(batch.deliveryId, batch);
        out.push({
          incidentId: incidentIdForGroup(batch.groupKey),
          groupKey: batch.groupKey,
          fingerprints: batch.alerts.map((a) => a.fingerprint),
        });
      }
      return out;
    },
    async ready() {
      return sink.available;
    },
  };
  return sink;
}
