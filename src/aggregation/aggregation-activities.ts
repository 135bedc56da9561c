/**
 * The aggregation's activities (all its I/O): one call to the namespace's correlator
 * workflow (update-with-start) for cross-group inhibition and linked-incident lookup,
 * with the topology links of the candidate's services read through the tool gate
 * (`topology.get`, cached briefly per worker). Wired into the worker beside the
 * incident activities.
 */
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import type { ToolGate } from '../mcp/tool-gate.js';
import type { ClientCalls } from '../temporal/client-calls.js';
import type { Topology } from '../schemas/telemetry.js';
import { ALERT_CORRELATOR_WORKFLOW, correlateUpdate } from '../../workflows/messages.js';
import { correlatorIdFor, correlatorTaskQueueFor, linksFor, type CorrelateRequest, type CorrelateResponse } from './correlation.js';

/** One correlator update may take this long before its requests fail (and their activities retry). */
const SEND_TIMEOUT_MS = 8_000;

/** How long a topology read serves later correlations. */
const TOPOLOGY_TTL_MS = 30_000;

export interface AggregationActivityDeps {
  client: Client;
  /** Runs the correlator calls: cancelled after SEND_TIMEOUT_MS, and when the worker closes. */
  calls: ClientCalls;
  gate: Pick<ToolGate, 'has' | 'call'>;
}

export function createAggregationActivities(deps: AggregationActivityDeps) {
  const coalescers = new Map<string, Coalescer>();
  const coalescer = (taskQueue: string): Coalescer => {
    let c = coalescers.get(taskQueue);
    if (!c) {
      c = new Coalescer(async (reqs) => {
        const startWorkflowOperation = new WithStartWorkflowOperation(ALERT_CORRELATOR_WORKFLOW, {
          workflowId: correlatorIdFor(taskQueue),
          taskQueue: correlatorTaskQueueFor(taskQueue),
          args: [{}],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
        // The operation's own handle promise rejects when the call fails (e.g. the
        // connection closes at shutdown); the failure is handled through the update.
        startWorkflowOperation.workflowHandle().catch(() => undefined);
        return deps.calls.run(
          () => deps.client.workflow.executeUpdateWithStart(correlateUpdate, { args: [reqs], startWorkflowOperation }),
          SEND_TIMEOUT_MS,
          `the correlator did not answer within ${SEND_TIMEOUT_MS} ms`,
        );
      });
      coalescers.set(taskQueue, c);
    }
    return c;
  };
  let cached: { at: number; topology: Topology } | undefined;
  const topology = async (incidentId: string): Promise<Topology | null> => {
    if (!deps.gate.has('topology.get')) return null;
    if (cached && Date.now() - cached.at < TOPOLOGY_TTL_MS) return cached.topology;
    const t = await deps.gate.call('topology.get', {}, { incidentId, stage: 'diagnosis' });
    cached = { at: Date.now(), topology: t };
    return t;
  };

  return {
    /**
     * Asks the correlator: which targets are inhibited by other groups' alerts, and
     * does the candidate incident join a linked open one. The topology links of the
     * candidate's services are added here; without a topology only same-service
     * incidents link (recorded in `topologyError`).
     */
    async correlateAlerts(req: CorrelateRequest): Promise<CorrelateResponse & { topologyError?: string }> {
      let request = req;
      let topologyError: string | undefined;
      if (req.candidate && req.candidate.windowSeconds > 0 && req.candidate.services.length > 0) {
        try {
          const t = await topology(req.candidate.incidentId);
          if (t) request = { ...req, candidate: { ...req.candidate, links: linksFor(t, req.candidate.services) } };
          else topologyError = 'no topology.get tool is configured';
        } catch (err) {
          topologyError = `topology unavailable: ${(err as Error).message}`;
        }
      }
      // A cancelled activity (the worker shutting down, the group's timeout) stops waiting at once.
      const ctx = Context.current();
      const response = await Promise.race([coalescer(ctx.info.taskQueue).send(request), ctx.cancelled]);
      return topologyError ? { ...response, topologyError } : response;
    },
  };
}

/**
 * One correlator update in flight per worker and task queue: requests that arrive
 * meanwhile wait and go together in the next update (a single workflow takes only a few
 * concurrent updates; one batched update costs about what one request does).
 */
class Coalescer {
  private queue: { req: CorrelateRequest; resolve: (r: CorrelateResponse) => void; reject: (e: unknown) => void }[] = [];
  private busy = false;

  constructor(private readonly sendBatch: (reqs: CorrelateRequest[]) => Promise<CorrelateResponse[]>) {}

  send(req: CorrelateRequest): Promise<CorrelateResponse> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 200);
        try {
          const t = Date.now();
          const answers = await this.sendBatch(batch.map((b) => b.req));
          if (process.env['VIGIL_DEBUG_CORRELATOR']) process.stderr.write(`${new Date().toISOString()} correlator: ${batch.length} request(s) in ${Date.now() - t} ms, ${JSON.stringify(batch.map((b) => b.req)).length} bytes\n`);
          batch.forEach((b, i) => {
            const a = answers[i];
            if (a) b.resolve(a);
            else b.reject(new Error('the correlator gave no answer'));
          });
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

export type AggregationActivities = ReturnType<typeof createAggregationActivities>;
