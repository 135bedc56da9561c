/**
 * The AlertSink of an evaluation run: the real Temporal sink (the group's aggregation
 * workflow, which opens the incident), but each alert group goes to the task queue of
 * the worker serving its case, with that case's incident and aggregation settings.
 */
import type { Client, Connection } from '@temporalio/client';
import type { AlertBatch } from '../schemas/alert.js';
import type { AlertSink, DeliveredBatch } from '../ingest/alert-sink.js';
import { TemporalAlertSink, temporalReachable, type TemporalAlertSinkOptions } from '../temporal/temporal-alert-sink.js';

/** Where one case's alert group goes: its slot's task queue and its settings. */
export type CaseRoute = TemporalAlertSinkOptions;

export class CaseRoutingSink implements AlertSink {
  private readonly routes = new Map<string, TemporalAlertSink>();

  constructor(
    private readonly client: Client,
    private readonly connection: Connection,
  ) {}

  /** Sends alerts of `groupKey` to `route` until `unroute(groupKey)`. */
  route(groupKey: string, route: CaseRoute): void {
    this.routes.set(groupKey, new TemporalAlertSink(this.client, this.connection, route));
  }

  unroute(groupKey: string): void {
    void this.routes.get(groupKey)?.close();
    this.routes.delete(groupKey);
  }

  async deliver(batches: AlertBatch[]): Promise<DeliveredBatch[]> {
    const out: DeliveredBatch[] = [];
    for (const batch of batches) {
      const sink = this.routes.get(batch.groupKey);
      // Only the evaluation posts to its own ingest server, always after route().
      if (!sink) throw new Error(`no case is routed for group ${batch.groupKey}`);
      out.push(...(await sink.deliver([batch])));
    }
    return out;
  }

  ready(): Promise<boolean> {
    return temporalReachable(this.connection);
  }

  async close(): Promise<void> {
    await Promise.all([...this.routes.values()].map((s) => s.close()));
  }
}
