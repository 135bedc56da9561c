/**
 * A thin wrapper around two activities, so incident metrics are computed on the activity
 * side and workflow code stays untouched: `loadIncidentContext` (once per incident start)
 * counts a start; `writeReport` (once per closed incident, with the final status)
 * records the incident's metrics and evaluates drift. Observation never fails the
 * activity, and a retried activity (same workflow run) is counted once.
 */
import { Context } from '@temporalio/activity';
import type { EvidenceStore } from '../evidence/evidence-store.js';
import type { Logger } from '../logger.js';
import type { IncidentStatus } from '../schemas/incident.js';
import type { IncidentMetrics } from './incident-metrics.js';

type AnyActivity = (...args: never[]) => Promise<unknown>;

/** Remembers the last `max` keys (workflow runs already counted). */
class SeenKeys {
  private readonly keys = new Set<string>();
  constructor(private readonly max = 10_000) {}
  /** True the first time a key is seen. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.max) {
      const oldest = this.keys.values().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return true;
  }
}

function runKey(fallback: string): string {
  try {
    const w = Context.current().info.workflowExecution;
    if (w) return `${w.workflowId}/${w.runId}`;
  } catch {
    // called outside an activity (unit tests)
  }
  return fallback;
}

export interface InstrumentOptions {
  metrics: IncidentMetrics;
  /** Where the tool gate's call records are (tool calls per incident, refusals by the gate). */
  evidence?: Pick<EvidenceStore, 'toolCalls'>;
  logger?: Logger;
}

/** Returns `activities` with `loadIncidentContext` and `writeReport` observed (other activities as they are). */
export function instrumentActivities<A extends Record<string, AnyActivity>>(activities: A, opts: InstrumentOptions): A {
  const started = new SeenKeys();
  const closed = new SeenKeys();
  const out: Record<string, AnyActivity> = { ...activities };
  const load = activities['loadIncidentContext'];
  if (load) {
    out['loadIncidentContext'] = async (...args: never[]) => {
      const result = await load(...args);
      if (started.add(runKey(`start-${Date.now()}-${Math.random()}`))) opts.metrics.observeStarted();
      return result;
    };
  }
  const write = activities['writeReport'];
  if (write) {
    out['writeReport'] = async (...args: never[]) => {
      const result = await write(...args);
      const input = (args as unknown[])[0] as { status?: IncidentStatus } | undefined;
      const status = input?.status;
      if (status && closed.add(runKey(status.incidentId))) {
        try {
          await observe(status, opts);
        } catch (err) {
          opts.logger?.warn({ incidentId: status.incidentId, err: (err as Error).message }, 'could not record incident metrics');
        }
      }
      return result;
    };
  }
  return out as A;
}

async function observe(status: IncidentStatus, opts: InstrumentOptions): Promise<void> {
  let toolCalls: { capability: string; errorType?: string }[] | undefined;
  if (opts.evidence) {
    const records = await opts.evidence.toolCalls(status.incidentId).catch(() => []);
    toolCalls = records.map((r) => {
      const error = r['error'] as { type?: unknown } | undefined;
      return { capability: String(r['capability'] ?? 'unknown'), ...(typeof error?.type === 'string' ? { errorType: error.type } : {}) };
    });
  }
  const { drift } = opts.metrics.observeClosed({ ...status, stage: 'closed' }, toolCalls ? { toolCalls } : {});
  // Drift alerts post webhooks (with retries): never hold up the incident's close for them.
  drift.catch((err: Error) => opts.logger?.warn({ err: err.message }, 'SLI drift evaluation failed'));
}
