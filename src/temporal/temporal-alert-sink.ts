/**
 * The AlertSink that hands alerts to Temporal: one `signalWithStart` per aggregation
 * group, so concurrent deliveries for one group land in the same incident workflow
 * and a redelivery (same deliveryId) changes nothing there.
 */
import { createHash } from 'node:crypto';
import { Client, type Connection } from '@temporalio/client';
import type { AlertBatch } from '../schemas/alert.js';
import type { IncidentInput, IncidentSettings } from '../schemas/incident.js';
import { SinkUnavailableError, type AlertSink, type DeliveredBatch } from '../ingest/alert-sink.js';
import { alertsSignal, INCIDENT_WORKFLOW } from '../../workflows/messages.js';

/** The incident (workflow) id of a group: stable, so every delivery of the group meets there. */
export function incidentIdFor(groupKey: string): string {
  return `incident-${createHash('sha256').update(groupKey).digest('hex').slice(0, 16)}`;
}

export class TemporalAlertSink implements AlertSink {
  constructor(
    private readonly client: Client,
    private readonly connection: Connection,
    private readonly opts: { taskQueue: string; settings?: Partial<IncidentSettings> },
  ) {}

  async deliver(batches: AlertBatch[]): Promise<DeliveredBatch[]> {
    try {
      // Every batch is handed over before the request is answered; a retry of a partly
      // delivered request is harmless because the workflow drops known deliveryIds.
      return await Promise.all(
        batches.map(async (batch) => {
          const incidentId = incidentIdFor(batch.groupKey);
          const input: IncidentInput = {
            incidentId,
            groupKey: batch.groupKey,
            alerts: [],
            ...(this.opts.settings ? { settings: this.opts.settings } : {}),
          };
          await this.client.workflow.signalWithStart(INCIDENT_WORKFLOW, {
            workflowId: incidentId,
            taskQueue: this.opts.taskQueue,
            args: [input],
            signal: alertsSignal,
            signalArgs: [batch],
          });
          return { incidentId, groupKey: batch.groupKey, fingerprints: batch.alerts.map((a) => a.fingerprint) };
        }),
      );
    } catch (err) {
      throw new SinkUnavailableError(`Temporal did not accept the alerts: ${(err as Error).message}`, { cause: err });
    }
  }

  async ready(): Promise<boolean> {
    try {
      await this.connection.workflowService.getSystemInfo({});
      return true;
    } catch {
      return false;
    }
  }
}
