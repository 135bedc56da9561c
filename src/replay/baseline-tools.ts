/**
 * Two read-only tools the replay server offers beyond the simulator's: the case's
 * fault-free baseline as recorded, whole, with the period it was recorded in. They
 * are the server side of a proposed optional capability pair (`metrics.baseline`,
 * `traces.baseline`) through which the analyses could score the incident against a
 * separate fault-free period (analyzeMetricsWithBaseline, analyzeTraces'
 * baselineSpans) instead of against points placed before the window. Until the
 * capabilities exist they are not bound by the tool registry; any MCP client can
 * call them.
 */
import { z } from 'zod';
import { MetricsQueryRangeOutput, TracesSearchOutput } from '../schemas/capabilities.js';
import { EpochSeconds } from '../schemas/telemetry.js';

export const BASELINE_TOOLS = { metrics: 'metrics_baseline', traces: 'traces_baseline' } as const;

const Period = z.object({ start: EpochSeconds, end: EpochSeconds }).nullable().describe('when the baseline was recorded; null: the case has none');

export const MetricsBaselineInput = z.object({
  step: z.number().positive().default(15).describe('seconds between points (the recorded resolution at most)'),
  service: z.string().optional().describe('only this service'),
  metric: z.string().optional().describe('only this metric name'),
});
export const MetricsBaselineOutput = MetricsQueryRangeOutput.extend({ period: Period });
export type MetricsBaselineOutput = z.infer<typeof MetricsBaselineOutput>;

export const TracesBaselineInput = z.object({
  service: z.string().optional().describe('traces that touch this service'),
  limit: z.number().int().positive().max(200_000).default(20_000).describe('max spans'),
});
export const TracesBaselineOutput = TracesSearchOutput.extend({ period: Period });
export type TracesBaselineOutput = z.infer<typeof TracesBaselineOutput>;
