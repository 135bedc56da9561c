/**
 * Named timeout and retry profiles for activities, shared by the workflows.
 * One place to read how long vigil waits for each kind of work.
 */
import type { ActivityOptions } from '@temporalio/workflow';

/** Reading policy, configuration, knowledge: fast, local. */
export const readLocal: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

/** One telemetry analysis: queries a backend through MCP, may be slow; heartbeats. */
export const analysis: ActivityOptions = {
  startToCloseTimeout: '5m',
  heartbeatTimeout: '60s',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3, nonRetryableErrorTypes: ['ToolSchemaError', 'ToolNotAllowed'] },
};

/** Pure computation (ranking, the built-in reasoner, planning). */
export const compute: ActivityOptions = {
  startToCloseTimeout: '2m',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

/** Retry settings of actions and undos, from the policy (`remediation`). */
export interface RemediationTiming {
  actionTimeoutSeconds: number;
  actionRetry: { initialIntervalSeconds: number; maximumAttempts: number };
  compensationRetry: { initialIntervalSeconds: number; maximumAttempts: number };
}

/** One remediation action: idempotent by key, so retries are safe. */
export function actionProfile(t: RemediationTiming): ActivityOptions {
  return {
    startToCloseTimeout: `${t.actionTimeoutSeconds}s`,
    retry: {
      initialInterval: `${t.actionRetry.initialIntervalSeconds}s`,
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: t.actionRetry.maximumAttempts,
      nonRetryableErrorTypes: ['ActionRefused', 'ToolNotAllowed', 'ToolSchemaError'],
    },
  };
}

/** Undo of an action: retried harder than the action itself. */
export function compensationProfile(t: RemediationTiming): ActivityOptions {
  return {
    startToCloseTimeout: `${t.actionTimeoutSeconds}s`,
    retry: {
      initialInterval: `${t.compensationRetry.initialIntervalSeconds}s`,
      backoffCoefficient: 2,
      maximumInterval: '30s',
      maximumAttempts: t.compensationRetry.maximumAttempts,
      nonRetryableErrorTypes: ['ToolNotAllowed'],
    },
  };
}

/** Writing the report and records. */
export const record: ActivityOptions = {
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', maximumAttempts: 5 },
};
