/**
 * What the analyses return to the workflow (summaries plus references: raw telemetry
 * stays in the evidence store, out of Temporal history) and what ranking produces.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';
import { Topology } from './telemetry.js';

export const EvidenceSource = z.enum(['metrics', 'logs', 'traces', 'topology']);
export type EvidenceSource = z.infer<typeof EvidenceSource>;

/** One anomaly or fact an analysis found, in words a person can check. */
export const Finding = z.object({
  id: z.string().describe('stable within the incident, e.g. "metrics:payment:payment-1:error_rate"'),
  source: EvidenceSource,
  service: z.string(),
  instance: z.string().optional(),
  indicator: z
    .string()
    .describe('what is abnormal: a metric name, "log:<template>", "span:<operation>", "change:deploy"'),
  score: z.number().nonnegative().describe('strength of the anomaly; comparable within one source'),
  onset: z.number().nullable().describe('epoch seconds the anomaly began (change point), null if unknown'),
  summary: z.string().describe('one sentence a person can check against the data'),
  direction: z.enum(['up', 'down', 'none']).default('none'),
  baseline: z.number().optional().describe("the indicator's usual level, in its own unit (metrics)"),
  level: z.number().optional().describe('the level the score was computed from during the incident, same unit'),
  readOff: z
    .string()
    .optional()
    .describe("the service whose own telemetry this finding is a reading of, when not `service` (a caller's call tree cut short right after calling it)"),
});
export type Finding = z.infer<typeof Finding>;

/** One analysis' result: findings ranked by score, or why the source is missing. */
export const SourceEvidence = z.object({
  source: EvidenceSource,
  status: z.enum(['ok', 'empty', 'missing']).describe('missing: the source failed or timed out'),
  error: z.string().optional(),
  findings: z.array(Finding),
  /** Reference into the evidence store where the raw data this summarises is kept. */
  ref: z.string().optional(),
  /** SHA-256 of the raw data, so a report reader can check the reference. */
  digest: z.string().optional(),
  stats: z.record(z.string(), z.number()).default({}),
  /**
   * Metrics: per service, the requests it served during the incident window and the time
   * they took beyond its usual average (Σ requests × (average latency − reference average),
   * seconds), where average latency and request counts are both measured.
   */
  extraTime: z.record(z.string(), z.object({ requests: z.number(), seconds: z.number() })).optional(),
});
export type SourceEvidence = z.infer<typeof SourceEvidence>;

/**
 * What an incident's status keeps of a source's evidence (the workflow, and the what-if
 * replay reading it back): the findings and what ranking weighs besides them (the metrics'
 * per-service extra time), not the topology graph itself, which goes to ranking only.
 */
export function statusEvidence(e: SourceEvidence): SourceEvidence {
  const { source, status, error, findings, ref, digest, stats, extraTime } = e;
  return { source, status, findings, stats: stats ?? {}, ...(error ? { error } : {}), ...(ref ? { ref } : {}), ...(digest ? { digest } : {}), ...(extraTime ? { extraTime } : {}) };
}

/** The topology analysis also returns the graph itself (small) for ranking. */
export const TopologyEvidence = SourceEvidence.extend({
  topology: Topology.nullable(),
  blastRadius: z.array(z.string()).default([]),
});
export type TopologyEvidence = z.infer<typeof TopologyEvidence>;

export const Candidate = z.object({
  service: z.string(),
  instance: z.string().optional(),
  indicator: z.string().optional().describe('cpu, memory, latency, errors, a log template, a change...'),
  score: z.number().describe('0..1, higher is more likely the root cause'),
  reasons: z.array(z.string()).describe('evidence in words a person can check'),
  findingIds: z.array(z.string()).default([]),
});
export type Candidate = z.infer<typeof Candidate>;

export const RankingInput = z.object({
  evidence: z.array(SourceEvidence),
  topology: Topology.nullable(),
  alertedServices: z.array(z.string()),
  incidentStart: z.number().describe('epoch seconds: the alert startsAt'),
  alerts: z
    .array(
      z.object({
        labels: z.record(z.string(), z.string()),
        annotations: z.record(z.string(), z.string()).default({}),
      }),
    )
    .optional()
    .describe('the alerts that opened the incident (labels, annotations): what kind of symptom was alerted on'),
});
export type RankingInput = z.infer<typeof RankingInput>;
