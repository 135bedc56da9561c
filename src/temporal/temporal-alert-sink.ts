/**
 * The AlertSink that hands alerts to Temporal: one update-with-start of the group's
 * AlertGroupWorkflow per batch (workflow id `alert-group-<sha(groupKey)>`, conflict
 * policy USE_EXISTING), so concurrent deliveries for one group meet in one workflow, a
 * malformed batch is refused by the update's validator before it enters history, and
 * the answer names the incident each alert went to (assigned before group_wait ends).
 * The group decides dedup, inhibition, flapping and merges (workflows/alert-group-workflow.ts).
 */
import { createHash } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError, type Client, type Connection } from '@temporalio/client';
import { prettifyError } from 'zod';
import type { AlertBatch } from '../schemas/alert.js';
import type { IncidentSettings } from '../schemas/incident.js';
import type { VigilConfig } from '../schemas/config.js';
import { SinkUnavailableError, type AlertSink, type DeliveredBatch } from '../ingest/alert-sink.js';
import { AggregationSettings, type AggregationSettingsInput } from '../aggregation/settings.js';
import type { AlertGroupInput, DeliveryResult } from '../aggregation/group-state.js';
import { ALERT_GROUP_WORKFLOW, deliverAlertsUpdate } from '../../workflows/messages.js';

function groupHash(groupKey: string): string {
  return createHash('sha256').update(groupKey).digest('hex').slice(0, 16);
}

/** The aggregation workflow of a group: stable, so every delivery of the group meets there. */
export function groupIdFor(groupKey: string): string {
  return `alert-group-${groupHash(groupKey)}`;
}

/** The prefix of a group's incident ids (`<prefix>-1`, `<prefix>-2`, ...). */
export function incidentPrefixFor(groupKey: string): string {
  return `incident-${groupHash(groupKey)}`;
}

/** The id the group's first incident gets. */
export function incidentIdFor(groupKey: string, n = 1): string {
  return `${incidentPrefixFor(groupKey)}-${n}`;
}

/** Groups remembered as told the current settings; beyond this the set starts again. */
const MAX_TOLD_GROUPS = 10_000;

/** Thrown when the group workflow refuses a batch (its update validator): not retryable as is. */
export class BatchRefusedError extends Error {
  override readonly name = 'BatchRefusedError';
}

export interface TemporalAlertSinkOptions {
  taskQueue: string;
  /** Incident settings handed to each incident (its group wait is the aggregation's). */
  settings?: Partial<IncidentSettings>;
  /**
   * Aggregation settings for new groups. `groupWaitSeconds` defaults to
   * `settings.groupWaitSeconds`, so callers that only set incident settings keep their timing.
   */
  aggregation?: AggregationSettingsInput;
}

export class TemporalAlertSink implements AlertSink {
  /**
   * The sink `vigil ingest` and `vigil dev` use: the task queue, the incident settings
   * (`incident`, overridden by `settings`; its group wait is the aggregation's default) and
   * the aggregation settings of the configuration.
   */
  static fromConfig(client: Client, connection: Connection, config: Pick<VigilConfig, 'temporal' | 'aggregation' | 'incident'>, settings?: Partial<IncidentSettings>): TemporalAlertSink {
    return new TemporalAlertSink(client, connection, {
      taskQueue: config.temporal.taskQueue,
      settings: { ...config.incident, ...settings },
      ...(config.aggregation ? { aggregation: config.aggregation } : {}),
    });
  }

  private readonly settings: AggregationSettings;
  /**
   * Groups this sink has handed its settings to. The first delivery to each group from this
   * process carries them, so a group started under an older configuration adopts the
   * current one at its next delivery (bounded: forgotten groups are told again).
   */
  private readonly told = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly connection: Connection,
    private readonly opts: TemporalAlertSinkOptions,
  ) {
    const parsed = AggregationSettings.safeParse({
      ...(opts.settings?.groupWaitSeconds !== undefined ? { groupWaitSeconds: opts.settings.groupWaitSeconds } : {}),
      ...opts.aggregation,
      incident: { ...opts.settings, ...opts.aggregation?.incident },
    });
    if (!parsed.success) throw new Error(`invalid aggregation settings:\n${prettifyError(parsed.error)}`);
    this.settings = parsed.data;
  }

  /** The start input of a group's workflow. */
  groupInput(groupKey: string): AlertGroupInput {
    return { groupKey, groupId: groupIdFor(groupKey), incidentPrefix: incidentPrefixFor(groupKey), settings: this.settings };
  }

  async deliver(batches: AlertBatch[]): Promise<DeliveredBatch[]> {
    // Every batch is handed over before the request is answered; a retry of a partly
    // delivered request is harmless because the groups dedup by delivery and lifecycle.
    const results = await Promise.all(batches.map((batch) => this.deliverOne(batch)));
    return results.flat();
  }

  /** One batch → its group; the answer split by incident (suppressed alerts under the group's id). */
  async deliverOne(batch: AlertBatch): Promise<DeliveredBatch[]> {
    const input = this.groupInput(batch.groupKey);
    let result: DeliveryResult;
    try {
      const startWorkflowOperation = new WithStartWorkflowOperation(ALERT_GROUP_WORKFLOW, {
        workflowId: input.groupId,
        taskQueue: this.opts.taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
      // Its handle promise rejects when the call fails; the failure is handled below.
      startWorkflowOperation.workflowHandle().catch(() => undefined);
      const tell = !this.told.has(input.groupId);
      result = await this.client.workflow.executeUpdateWithStart(deliverAlertsUpdate, { args: tell ? [batch, { settings: this.settings }] : [batch], startWorkflowOperation });
      if (tell) {
        if (this.told.size >= MAX_TOLD_GROUPS) this.told.clear();
        this.told.add(input.groupId);
      }
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        throw new BatchRefusedError(`the alert group refused the batch: ${(err.cause as Error | undefined)?.message ?? err.message}`, { cause: err });
      }
      throw new SinkUnavailableError(`Temporal did not accept the alerts: ${(err as Error).message}`, { cause: err });
    }
    const byIncident = new Map<string, string[]>();
    for (const r of result.routes) {
      const id = r.incidentId ?? result.groupId;
      byIncident.set(id, [...(byIncident.get(id) ?? []), r.fingerprint]);
    }
    return [...byIncident].map(([incidentId, fingerprints]) => ({ incidentId, groupKey: batch.groupKey, fingerprints }));
  }

  ready(): Promise<boolean> {
    return temporalReachable(this.connection);
  }
}

/** Whether the Temporal frontend answers (ingest's /readyz). */
export async function temporalReachable(connection: Connection): Promise<boolean> {
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  }
}
