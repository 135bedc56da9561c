/**
 * The capabilities vigil needs from the outside world, each with one input and one
 * output schema. MCP servers that vigil ships (the simulator, the dataset replay
 * server) expose tools with exactly these names and shapes; third-party servers are
 * mapped onto them by the tool registry. Results are validated against the output
 * schema before any analysis sees them.
 */
import { z } from 'zod';
import { EpochSeconds, LogRecord, MetricSeries, Span, Topology } from './telemetry.js';

/** Capability name -> the MCP tool name our own servers use for it. */
export const CAPABILITY_TOOLS = {
  'metrics.query_range': 'metrics_query_range',
  'logs.search': 'logs_search',
  'traces.search': 'traces_search',
  'topology.get': 'topology_get',
  'metrics.baseline': 'metrics_baseline',
  'traces.baseline': 'traces_baseline',
  'remediation.get_state': 'service_state_get',
  'remediation.restart': 'service_restart',
  'remediation.scale': 'service_scale',
  'remediation.rollback': 'release_rollback',
  'remediation.set_flag': 'feature_flag_set',
  'remediation.prepare': 'action_prepare',
  'remediation.commit': 'action_commit',
  'remediation.abort': 'action_abort',
} as const;
export type Capability = keyof typeof CAPABILITY_TOOLS;
export const Capability = z.enum(Object.keys(CAPABILITY_TOOLS) as [Capability, ...Capability[]]);

/** Read-only capabilities: allowed during diagnosis. */
export const READ_ONLY_CAPABILITIES: readonly Capability[] = [
  'metrics.query_range',
  'logs.search',
  'traces.search',
  'topology.get',
  'metrics.baseline',
  'traces.baseline',
  'remediation.get_state',
];

/**
 * Optional read capabilities: a fault-free reference period to score the incident
 * against (a Prometheus range query at an offset, a replayed recording's baseline).
 * Analyses work without them (against the recent past), so servers that do not offer
 * them are not bound to them by default.
 */
export const BASELINE_CAPABILITIES: readonly Capability[] = ['metrics.baseline', 'traces.baseline'];

/**
 * What may run before a person approved: validating and staging a high-risk action
 * (prepare) and releasing a staged one (abort). Neither changes a service; commit does.
 */
export const PREPARE_CAPABILITIES: readonly Capability[] = ['remediation.prepare', 'remediation.abort'];

// ---- metrics.query_range ----
export const MetricsQueryRangeInput = z.object({
  start: EpochSeconds,
  end: EpochSeconds,
  step: z.number().positive().default(15).describe('seconds between points'),
  service: z.string().optional().describe('only this service'),
  metric: z.string().optional().describe('only this metric name'),
});
export type MetricsQueryRangeInput = z.infer<typeof MetricsQueryRangeInput>;
export const MetricsQueryRangeOutput = z.object({ series: z.array(MetricSeries) });
export type MetricsQueryRangeOutput = z.infer<typeof MetricsQueryRangeOutput>;

// ---- logs.search ----
export const LogsSearchInput = z.object({
  start: EpochSeconds,
  end: EpochSeconds,
  service: z.string().optional(),
  level: z.string().optional().describe('minimum level, e.g. warn or error'),
  contains: z.string().optional().describe('substring filter on the message'),
  limit: z.number().int().positive().max(50_000).default(5_000),
});
export type LogsSearchInput = z.infer<typeof LogsSearchInput>;
export const LogsSearchOutput = z.object({ logs: z.array(LogRecord), truncated: z.boolean() });
export type LogsSearchOutput = z.infer<typeof LogsSearchOutput>;

// ---- traces.search ----
export const TracesSearchInput = z.object({
  start: EpochSeconds,
  end: EpochSeconds,
  service: z.string().optional().describe('traces that touch this service'),
  limit: z.number().int().positive().max(200_000).default(20_000).describe('max spans'),
});
export type TracesSearchInput = z.infer<typeof TracesSearchInput>;
export const TracesSearchOutput = z.object({ spans: z.array(Span), truncated: z.boolean() });
export type TracesSearchOutput = z.infer<typeof TracesSearchOutput>;

// ---- metrics.baseline / traces.baseline ----
const ReferencePeriod = z
  .object({ start: EpochSeconds, end: EpochSeconds })
  .nullable()
  .describe('when the returned reference data was recorded; null: there is none');

export const MetricsBaselineInput = z.object({
  start: EpochSeconds.optional().describe('start of the incident window the reference is for'),
  end: EpochSeconds.optional().describe('end of the incident window the reference is for'),
  step: z.number().positive().default(15).describe('seconds between points (the recorded resolution at most)'),
  service: z.string().optional().describe('only this service'),
  metric: z.string().optional().describe('only this metric name'),
});
export type MetricsBaselineInput = z.infer<typeof MetricsBaselineInput>;
export const MetricsBaselineOutput = MetricsQueryRangeOutput.extend({ period: ReferencePeriod });
export type MetricsBaselineOutput = z.infer<typeof MetricsBaselineOutput>;

export const TracesBaselineInput = z.object({
  start: EpochSeconds.optional().describe('start of the incident window the reference is for'),
  end: EpochSeconds.optional().describe('end of the incident window the reference is for'),
  service: z.string().optional().describe('traces that touch this service'),
  limit: z.number().int().positive().max(200_000).default(20_000).describe('max spans'),
});
export type TracesBaselineInput = z.infer<typeof TracesBaselineInput>;
export const TracesBaselineOutput = TracesSearchOutput.extend({ period: ReferencePeriod });
export type TracesBaselineOutput = z.infer<typeof TracesBaselineOutput>;

// ---- topology.get ----
export const TopologyGetInput = z.object({
  since: EpochSeconds.optional().describe('only changes at or after this time'),
});
export type TopologyGetInput = z.infer<typeof TopologyGetInput>;
export const TopologyGetOutput = Topology;
export type TopologyGetOutput = z.infer<typeof TopologyGetOutput>;

// ---- remediation ----
/** The state of one service that remediation reads before acting and restores on undo. */
export const ServiceState = z.object({
  service: z.string(),
  replicas: z.number().int().nonnegative(),
  release: z.string(),
  previousRelease: z.string().nullable(),
  flags: z.record(z.string(), z.boolean()),
  restarts: z.number().int().nonnegative(),
});
export type ServiceState = z.infer<typeof ServiceState>;

export const ServiceStateGetInput = z.object({ service: z.string().min(1) });
export type ServiceStateGetInput = z.infer<typeof ServiceStateGetInput>;
export const ServiceStateGetOutput = ServiceState;

const IdempotencyKey = z
  .string()
  .min(8)
  .max(200)
  .describe('derived from incident and step; the same key never acts twice');

export const ServiceRestartInput = z.object({ service: z.string().min(1), idempotencyKey: IdempotencyKey });
export type ServiceRestartInput = z.infer<typeof ServiceRestartInput>;
export const ServiceScaleInput = z.object({
  service: z.string().min(1),
  replicas: z.number().int().min(0).max(100),
  idempotencyKey: IdempotencyKey,
});
export type ServiceScaleInput = z.infer<typeof ServiceScaleInput>;
export const ReleaseRollbackInput = z.object({
  service: z.string().min(1),
  toRelease: z.string().min(1).describe('the release to run after this action (previous one to roll back, recorded one to roll forward)'),
  idempotencyKey: IdempotencyKey,
});
export type ReleaseRollbackInput = z.infer<typeof ReleaseRollbackInput>;
export const FeatureFlagSetInput = z.object({
  service: z.string().min(1),
  flag: z.string().min(1),
  enabled: z.boolean(),
  idempotencyKey: IdempotencyKey,
});
export type FeatureFlagSetInput = z.infer<typeof FeatureFlagSetInput>;

/** Every action returns the state before and after, and whether the key had been seen already. */
export const ActionOutput = z.object({
  ok: z.boolean(),
  idempotencyKey: z.string(),
  replayed: z.boolean().describe('true when this key was already applied: nothing was done again'),
  before: ServiceState,
  after: ServiceState,
  message: z.string(),
});
export type ActionOutput = z.infer<typeof ActionOutput>;

// ---- two-phase actions (high-risk steps: prepare before the checkpoint, commit after it) ----
export const PreparableAction = z.enum(['restart', 'scale', 'rollback', 'set_flag']);
export type PreparableAction = z.infer<typeof PreparableAction>;

export const ActionPrepareInput = z.object({
  service: z.string().min(1),
  action: PreparableAction,
  replicas: z.number().int().min(0).max(100).optional().describe('scale: the replica count to set'),
  toRelease: z.string().min(1).optional().describe('rollback: the release to run after the action'),
  flag: z.string().min(1).optional().describe('set_flag: the flag'),
  enabled: z.boolean().optional().describe('set_flag: its new value'),
  ttlSeconds: z.number().int().min(1).max(86_400).describe('how long the prepared action is held; after that it can no longer be committed'),
  idempotencyKey: IdempotencyKey,
});
export type ActionPrepareInput = z.infer<typeof ActionPrepareInput>;

/** A validated, staged action: what commit will do, against which state, until when. */
export const PreparedAction = z.object({
  handle: z.string().min(1).describe('what commit and abort name'),
  idempotencyKey: z.string().describe('the key of the prepare call'),
  replayed: z.boolean().describe('true when this key had prepared already: the same handle is returned'),
  service: z.string(),
  action: PreparableAction,
  parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  status: z.enum(['prepared', 'committed', 'aborted', 'expired']),
  preparedAt: EpochSeconds,
  expiresAt: EpochSeconds,
  before: ServiceState.describe('the state validated against; commit refuses if what the action depends on has changed'),
  expected: ServiceState.describe('the state after commit, if nothing else changes it'),
  summary: z.string().describe('what commit will do, in words'),
});
export type PreparedAction = z.infer<typeof PreparedAction>;

export const ActionCommitInput = z.object({
  handle: z.string().min(1),
  idempotencyKey: IdempotencyKey.describe('the action key: the same key never commits twice'),
});
export type ActionCommitInput = z.infer<typeof ActionCommitInput>;

export const ActionAbortInput = z.object({
  handle: z.string().min(1),
  reason: z.string().max(500).default('aborted'),
});
export type ActionAbortInput = z.infer<typeof ActionAbortInput>;
export const ActionAbortOutput = z.object({
  handle: z.string(),
  status: z.enum(['aborted', 'expired', 'unknown']).describe('aborted now or before; expired (released already); unknown handle (nothing held)'),
  replayed: z.boolean().describe('true when the handle had been aborted before'),
  message: z.string(),
});
export type ActionAbortOutput = z.infer<typeof ActionAbortOutput>;

/** Input and output schema of each capability, for the gate that validates tool results. */
export const CAPABILITY_SCHEMAS = {
  'metrics.query_range': { input: MetricsQueryRangeInput, output: MetricsQueryRangeOutput },
  'logs.search': { input: LogsSearchInput, output: LogsSearchOutput },
  'traces.search': { input: TracesSearchInput, output: TracesSearchOutput },
  'topology.get': { input: TopologyGetInput, output: TopologyGetOutput },
  'metrics.baseline': { input: MetricsBaselineInput, output: MetricsBaselineOutput },
  'traces.baseline': { input: TracesBaselineInput, output: TracesBaselineOutput },
  'remediation.get_state': { input: ServiceStateGetInput, output: ServiceStateGetOutput },
  'remediation.restart': { input: ServiceRestartInput, output: ActionOutput },
  'remediation.scale': { input: ServiceScaleInput, output: ActionOutput },
  'remediation.rollback': { input: ReleaseRollbackInput, output: ActionOutput },
  'remediation.set_flag': { input: FeatureFlagSetInput, output: ActionOutput },
  'remediation.prepare': { input: ActionPrepareInput, output: PreparedAction },
  'remediation.commit': { input: ActionCommitInput, output: ActionOutput },
  'remediation.abort': { input: ActionAbortInput, output: ActionAbortOutput },
} as const satisfies Record<Capability, { input: z.ZodType; output: z.ZodType }>;
