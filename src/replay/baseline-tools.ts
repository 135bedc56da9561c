/**
 * The replay server's baseline tools (capabilities `metrics.baseline` and
 * `traces.baseline`, src/schemas/capabilities.ts): the case's fault-free baseline as
 * recorded, whole, with the period it was recorded in, whatever incident window the
 * caller names. The analyses score the incident window against it
 * (analyzeMetricsWithBaseline, analyzeTraces' baselineSpans).
 */
import { CAPABILITY_TOOLS } from '../schemas/capabilities.js';

export { MetricsBaselineInput, MetricsBaselineOutput, TracesBaselineInput, TracesBaselineOutput } from '../schemas/capabilities.js';

export const BASELINE_TOOLS = { metrics: CAPABILITY_TOOLS['metrics.baseline'], traces: CAPABILITY_TOOLS['traces.baseline'] } as const;
