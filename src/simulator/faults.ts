/**
 * Fault kinds the simulator can inject, what each does and which action fixes it,
 * and the schemas of an injection request and of a recorded fault.
 * `FAULT_KINDS` is what `vigil simulate --list` prints.
 */
import { z } from 'zod';
import { EpochSeconds } from '../schemas/telemetry.js';

export const FaultKind = z.enum([
  'bad-release',
  'bad-flag',
  'db-pool-exhaustion',
  'cpu-saturation',
  'network-latency',
  'memory-leak',
]);
export type FaultKind = z.infer<typeof FaultKind>;

export const FaultKindInfo = z.object({
  kind: FaultKind,
  description: z.string(),
  indicator: z.string().describe('the metric most anomalous on the faulty service'),
  fix: z.string().describe('the action that ends the fault'),
  appliesTo: z.string().describe('which services accept this fault'),
});
export type FaultKindInfo = z.infer<typeof FaultKindInfo>;

/** One line per fault kind, with its fix rule. */
export const FAULT_KINDS: readonly FaultKindInfo[] = [
  {
    kind: 'bad-release',
    description: 'a new release is deployed at fault time (recorded as a deploy change) and throws on a share of requests',
    indicator: 'error_rate',
    fix: 'release_rollback to any release other than the bad one (normally the previous release); rolling forward to the bad release brings the fault back',
    appliesTo: 'any service',
  },
  {
    kind: 'bad-flag',
    description: 'a feature flag that was off is switched on at fault time (recorded as a flag change) and its code path fails',
    indicator: 'error_rate',
    fix: 'feature_flag_set of that flag to false; setting it true again brings the fault back',
    appliesTo: 'services with at least one flag that is off',
  },
  {
    kind: 'db-pool-exhaustion',
    description: 'leaked connections saturate the service\'s database pool: requests wait for a connection, time out and fail',
    indicator: 'db_connections_in_use',
    fix: 'service_restart of the service (new processes, fresh pools)',
    appliesTo: 'services with a database pool (payment, inventory, catalog)',
  },
  {
    kind: 'cpu-saturation',
    description: 'load beyond capacity drives cpu to ~100% and queues requests',
    indicator: 'cpu_usage',
    fix: 'service_scale to more replicas than the service had when the fault began (restart does not help)',
    appliesTo: 'any service',
  },
  {
    kind: 'network-latency',
    description: 'a degraded node adds latency and packet loss to the service\'s network calls',
    indicator: 'latency_p99_seconds',
    fix: 'service_restart of the service (pods are rescheduled onto healthy nodes)',
    appliesTo: 'any service',
  },
  {
    kind: 'memory-leak',
    description: 'memory climbs over ~15 minutes; past ~80% of the limit GC pauses and out-of-memory errors start',
    indicator: 'memory_usage',
    fix: 'service_restart of the service (memory is released at once)',
    appliesTo: 'any service',
  },
];

/** An injection request: a fault of `kind` in `service`, from `startedAt` (default: now). */
export const FaultInjection = z.object({
  kind: FaultKind,
  service: z.string().min(1),
  startedAt: EpochSeconds.optional().describe('fault onset; default now'),
  failStep: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('the N-th remediation action (1-based, distinct idempotency keys) after the injection fails'),
});
export type FaultInjection = z.infer<typeof FaultInjection>;

/** A period during which a fault acts; `to` is null while it still does. */
export const Episode = z.object({ from: EpochSeconds, to: EpochSeconds.nullable() });
export type Episode = z.infer<typeof Episode>;

/** A recorded fault with its history. */
export const Fault = z.object({
  id: z.string(),
  kind: FaultKind,
  service: z.string(),
  startedAt: EpochSeconds,
  failStep: z.number().int().positive().nullable(),
  status: z.enum(['active', 'resolved']),
  episodes: z.array(Episode),
  resolvedAt: EpochSeconds.nullable(),
  resolvedBy: z.string().nullable().describe('idempotency key of the fixing action, or "cleared"'),
  fix: z.string(),
  badRelease: z.string().optional().describe('bad-release: the release that carries the fault'),
  flag: z.string().optional().describe('bad-flag: the flag that carries the fault'),
  replicasAtStart: z.number().int().nonnegative(),
});
export type Fault = z.infer<typeof Fault>;
