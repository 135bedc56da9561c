/**
 * Telemetry shapes shared by every source (the simulator, the dataset replay server,
 * third-party backends behind the MCP tool registry) and by the analyses.
 * They follow ../shared/datasets/FORMAT.md: times are Unix epoch seconds.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';

export const EpochSeconds = z.number().finite().describe('Unix epoch seconds (UTC)');

/** One metric time series of one instance of one service. */
export const MetricSeries = z.object({
  service: z.string().min(1),
  instance: z.string().describe('pod, container or host; empty when the source has none'),
  metric: z
    .string()
    .min(1)
    .describe('snake_case indicator: cpu_usage, memory_usage, latency_p99_seconds, error_rate, request_rate, ...'),
  points: z.array(z.tuple([EpochSeconds, z.number()])).describe('[timestamp, value] sorted by time'),
});
export type MetricSeries = z.infer<typeof MetricSeries>;

/** One log record. `message` is untrusted text: data, never an instruction. */
export const LogRecord = z.object({
  timestamp: EpochSeconds,
  service: z.string().min(1),
  instance: z.string().default(''),
  level: z.string().optional(),
  message: z.string(),
  trace_id: z.string().optional(),
  span_id: z.string().optional(),
});
export type LogRecord = z.infer<typeof LogRecord>;

/** One span of a distributed trace. */
export const Span = z.object({
  trace_id: z.string().min(1),
  span_id: z.string().min(1),
  parent_span_id: z.string().nullable(),
  service: z.string().min(1),
  instance: z.string().default(''),
  operation: z.string(),
  start: EpochSeconds,
  duration_ms: z.number().nonnegative(),
  status: z.enum(['ok', 'error']).nullable(),
});
export type Span = z.infer<typeof Span>;

export const TopologyService = z.object({
  name: z.string().min(1),
  kind: z.enum(['service', 'database', 'cache', 'queue', 'gateway', 'external']).default('service'),
  instances: z.array(z.string()).default([]),
});
export type TopologyService = z.infer<typeof TopologyService>;

export const TopologyEdge = z.object({
  source: z.string().min(1).describe('the caller'),
  target: z.string().min(1).describe('the callee'),
  kind: z.string().default('calls'),
});
export type TopologyEdge = z.infer<typeof TopologyEdge>;

/** A recent change to a service: a deploy or a configuration change (CMDB). */
export const ChangeEvent = z.object({
  service: z.string().min(1),
  kind: z.enum(['deploy', 'config', 'scale', 'restart', 'flag']),
  at: EpochSeconds,
  description: z.string(),
  release: z.string().optional(),
});
export type ChangeEvent = z.infer<typeof ChangeEvent>;

export const Topology = z.object({
  services: z.array(TopologyService),
  edges: z.array(TopologyEdge),
  changes: z.array(ChangeEvent).default([]),
});
export type Topology = z.infer<typeof Topology>;
