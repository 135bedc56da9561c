/**
 * The worker's observability settings (`observability:` in vigil.yaml): the Prometheus
 * endpoints, OpenTelemetry tracing, the LLM price, the manual baseline the value measure
 * is computed against, SLI drift detection, and the diagnosis-accuracy SLIs' window. Everything is off unless configured,
 * except that `vigil worker` serves /metrics on 9464 and the Temporal SDK's on 9465.
 */
import { z } from 'zod';

/** A port, `0` for any free port, or `false` for off. */
const PortOrOff = z.union([z.number().int().min(0).max(65535), z.literal(false)]);

export const TracingConfig = z
  .object({
    exporter: z.enum(['off', 'console', 'otlp']).default('off').describe('where spans go; off by default'),
    /** OTLP/HTTP traces endpoint, e.g. http://otel-collector:4318/v1/traces. */
    otlpEndpoint: z.string().url().optional(),
    /** Extra headers for the OTLP endpoint (values may carry credentials: never logged). */
    otlpHeaders: z.record(z.string(), z.string()).default({}),
    serviceName: z.string().min(1).default('vigil-worker'),
  })
  .refine((t) => t.exporter !== 'otlp' || t.otlpEndpoint !== undefined, { message: 'exporter otlp needs otlpEndpoint', path: ['otlpEndpoint'] });
export type TracingConfig = z.infer<typeof TracingConfig>;

export const DriftRule = z.object({
  /** |recent - baseline| / baseline that counts as drift. */
  relativeChange: z.number().positive().default(0.5),
  /** And at least this absolute change of the rate (guards tiny base rates). */
  absoluteChange: z.number().nonnegative().default(0.1),
  /** Which moves alert: up (worse for every built-in SLI), down, or both. */
  direction: z.enum(['up', 'down', 'both']).default('up'),
});
export type DriftRule = z.infer<typeof DriftRule>;

export const SLI_NAMES = ['override_rate', 'escalation_rate', 'manual_intervention_rate', 'compensation_rate', 'remediation_failure_rate'] as const;
export const SliName = z.enum(SLI_NAMES);
export type SliName = z.infer<typeof SliName>;

export const DriftConfig = z.object({
  enabled: z.boolean().default(true),
  /** Length of the baseline window, which ends where the recent window starts. @default 7 days */
  baselineSeconds: z.number().int().positive().default(7 * 86_400),
  /** Length of the recent window, ending now. @default 1 day */
  recentSeconds: z.number().int().positive().default(86_400),
  /** Fewer incidents than this in either window (that the SLI applies to): no verdict. */
  minSamples: z.number().int().positive().default(20),
  /** Rules per SLI; SLIs not named use `defaultRule`. */
  rules: z.partialRecord(SliName, DriftRule).default({}),
  defaultRule: DriftRule.prefault({}),
  /** POSTed when an SLI starts (and stops) drifting: Slack-compatible `{text}` or generic JSON. */
  webhooks: z.array(z.object({ url: z.string().url(), format: z.enum(['slack', 'generic']).default('generic') })).default([]),
  /** Keep the samples across restarts in <dataDir>/observability/sli-samples.jsonl. @default true */
  persist: z.boolean().default(true),
});
export type DriftConfig = z.infer<typeof DriftConfig>;

export const ValueConfig = z.object({
  /** Alert labels naming an incident's type, first set wins (e.g. a fault label, then alertname). */
  typeLabels: z.array(z.string().min(1)).default(['alertname']),
  /** Engineer-minutes a person needs to handle an incident of this type by hand (the "before" baseline). */
  baselineMinutes: z.record(z.string(), z.number().nonnegative()).default({}),
  /** For types without their own baseline; absent = such incidents are not counted as savings. */
  defaultBaselineMinutes: z.number().nonnegative().optional(),
});
export type ValueConfig = z.infer<typeof ValueConfig>;

export const AccuracyConfig = z.object({
  /** Serve the diagnosis-accuracy SLIs (from the knowledge store's labelled incidents) on /metrics. @default true */
  enabled: z.boolean().default(true),
  /** The rolling window: incidents closed within it are counted. @default 30 days */
  windowSeconds: z.number().int().positive().default(30 * 86_400),
  /** A scrape recomputes the SLIs when the last computation is older than this (0 = every scrape); an incident closing on this worker makes them stale. @default 60 */
  refreshSeconds: z.number().int().nonnegative().default(60),
  /** Longest a scrape waits for a recomputation before serving the previous values. @default 2000 */
  refreshWaitMs: z.number().int().nonnegative().default(2000),
  /** The confidence the calibration SLIs split at: set it to the policy's checkpoint.confidenceThreshold. @default 0.6 */
  confidenceThreshold: z.number().min(0).max(1).default(0.6),
  /** At most this many of the newest incidents in the window are read. @default 10000 */
  maxIncidents: z.number().int().positive().default(10_000),
});
export type AccuracyConfig = z.infer<typeof AccuracyConfig>;

export const ObservabilityConfig = z.object({
  /** GET /metrics (vigil's metrics) on the worker; absent = `vigil worker` uses 9464, in-process workers none. */
  metricsPort: PortOrOff.optional(),
  /** @default 0.0.0.0 */
  metricsHost: z.string().default('0.0.0.0'),
  /** The Temporal SDK's own Prometheus exporter (Rust core); absent = `vigil worker` uses 9465. */
  temporalMetricsPort: PortOrOff.optional(),
  tracing: TracingConfig.prefault({}),
  /** Price of 1000 LLM tokens (prompt + completion), in `currency`. @default 0 */
  llmPricePer1kTokens: z.number().nonnegative().default(0),
  currency: z.string().default('USD'),
  value: ValueConfig.prefault({}),
  drift: DriftConfig.prefault({}),
  accuracy: AccuracyConfig.prefault({}),
});
export type ObservabilityConfig = z.infer<typeof ObservabilityConfig>;
export type ObservabilityConfigInput = z.input<typeof ObservabilityConfig>;

/** The worker's production defaults (`vigil worker`): metrics on 9464, the SDK's on 9465. */
export const WORKER_METRICS_PORT = 9464;
export const TEMPORAL_METRICS_PORT = 9465;
