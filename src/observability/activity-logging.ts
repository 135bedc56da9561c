/**
 * Activity logging: a worker interceptor gives every activity execution a pino child
 * logger bound to `{incidentId, workflowId, runId, activity, attempt}` (from Temporal's
 * activity Context and the activity's input), logs each failure with those ids, and
 * makes the logger reachable from activity code through `activityLogger()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context as ActivityContext } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from '../logger.js';

const current = new AsyncLocalStorage<Logger>();

/** The running activity's child logger (the fallback outside an activity). */
export function activityLogger(fallback?: Logger): Logger | undefined {
  return current.getStore() ?? fallback;
}

/** The incident an activity works for: its input's `incidentId` (or `status.incidentId`), else the workflow id. */
export function incidentIdOf(args: readonly unknown[], workflowId: string | undefined): string | undefined {
  const first = args[0];
  if (first && typeof first === 'object') {
    const o = first as { incidentId?: unknown; status?: { incidentId?: unknown } };
    if (typeof o.incidentId === 'string') return o.incidentId;
    if (typeof o.status?.incidentId === 'string') return o.status.incidentId;
  }
  return workflowId;
}

/** The bindings of an activity's child logger. */
export function activityBindings(ctx: Pick<ActivityContext, 'info'>, args: readonly unknown[]): Record<string, string | number> {
  const info = ctx.info;
  const workflowId = info.workflowExecution?.workflowId;
  const incidentId = incidentIdOf(args, workflowId);
  return {
    ...(incidentId ? { incidentId } : {}),
    ...(workflowId ? { workflowId } : {}),
    ...(info.workflowExecution?.runId ? { runId: info.workflowExecution.runId } : {}),
    activity: info.activityType,
    attempt: info.attempt,
  };
}

export function activityLoggingInterceptor(logger: Logger): ActivityInterceptorsFactory {
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const log = logger.child(activityBindings(ctx, input.args));
        const started = Date.now();
        return current.run(log, async () => {
          log.debug('activity started');
          try {
            const result = await next(input);
            log.debug({ durationMs: Date.now() - started }, 'activity completed');
            return result;
          } catch (err) {
            const e = err as Error & { type?: string };
            log.warn({ durationMs: Date.now() - started, err: { name: e.name, type: e.type, message: e.message } }, 'activity failed');
            throw err;
          }
        });
      },
    },
  });
}
