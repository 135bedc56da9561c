/**
 * The incident workflow's payloads: its input, the inference, the remediation plan,
 * decisions by people, the status its query returns and the final record.
 * Pure module: safe to import from workflow code.
 */
import { z } from 'zod';
import { Alert, Severity } from './alert.js';
import { Candidate, SourceEvidence } from './evidence.js';
import { ActionKind, Policy, RiskClass } from './policy.js';
import { ActionOutput, PreparedAction } from './capabilities.js';
import { InferenceExtension } from './llm-inference.js';

/** Settings the workflow needs that are not policy (windows, waits). Whole seconds. */
export const IncidentSettings = z.object({
  groupWaitSeconds: z.number().int().nonnegative().default(30),
  baselineSeconds: z.number().int().positive().default(1800).describe('length of the pre-incident baseline window'),
  /** How far past the alert start telemetry is read (the alert may be old: a replayed case). */
  incidentWindowSeconds: z.number().int().positive().default(900),
  metricsStepSeconds: z.number().positive().default(15),
  /** How many leading candidates sub-agents investigate, and how long each may take. */
  hypotheses: z.number().int().min(0).max(10).default(3),
  hypothesisTimeoutSeconds: z.number().int().positive().default(120),
  /** Links for the report. */
  temporalUiUrl: z.string().optional(),
});
export type IncidentSettings = z.infer<typeof IncidentSettings>;

export const IncidentInput = z.object({
  incidentId: z.string().min(1),
  groupKey: z.string().min(1),
  /** Alerts known when the workflow started (more arrive by signal). */
  alerts: z.array(Alert).default([]),
  /** Explicit settings (tests, eval); omitted ones come from the worker's configuration. */
  settings: IncidentSettings.partial().optional(),
  /** Set when an alert group opened the incident: the group (told when the incident closes), the severity mapping, timeline notes. */
  aggregation: z
    .object({
      groupId: z.string().min(1),
      severityMap: z.record(z.string(), Severity).optional(),
      notes: z.array(z.string()).default([]),
      /**
       * Close through the group: before its report the incident tells the group it is
       * closing and waits (at most this long) for the group to hand over every alert it was
       * promised (queued for a flush, or named by a routing lease still in use); firing
       * alerts that arrived after the diagnosis go back to the group for a follow-up incident.
       */
      closeHoldSeconds: z.number().positive().optional(),
    })
    .optional(),
});
export type IncidentInput = z.infer<typeof IncidentInput>;

export const RootCause = z.object({
  service: z.string(),
  instance: z.string().optional(),
  indicator: z.string().optional(),
});
export type RootCause = z.infer<typeof RootCause>;

export const Inference = z
  .object({
    reasoner: z.string().describe('builtin, or the LLM model name'),
    rootCause: RootCause.nullable(),
    confidence: z.number().min(0).max(1),
    reasoning: z.array(z.string()),
    evidenceRefs: z.array(z.string()),
  })
  .extend(InferenceExtension.shape);
export type Inference = z.infer<typeof Inference>;

export const SimilarIncident = z.object({
  id: z.string(),
  title: z.string(),
  rootCauseService: z.string().optional(),
  similarity: z.number().describe('cosine similarity when embeddings were used, else the lexical score (BM25 or ts_rank)'),
  path: z.string().optional(),
  matchedBy: z.array(z.enum(['lexical', 'semantic'])).optional().describe('which retrievals found it'),
});
export type SimilarIncident = z.infer<typeof SimilarIncident>;

export const RunbookStep = z.object({
  action: ActionKind,
  description: z.string(),
  risk: RiskClass.optional(),
  replicas: z.number().int().positive().optional().describe('for scale: absolute count; default current + 1'),
  flag: z.string().optional(),
  enabled: z.boolean().optional(),
  /** Why this step cannot be undone; such a step runs only where the policy marks the action irreversible-but-approved. */
  irreversible: z.string().min(1).max(500).optional(),
});
export type RunbookStep = z.infer<typeof RunbookStep>;

export const RunbookMatch = z.object({
  id: z.string(),
  title: z.string(),
  path: z.string(),
  score: z.number().describe("the runbook's priority"),
  relevance: z.number().optional().describe('fused retrieval relevance to this incident (reciprocal rank fusion; 0 = applies but no text match)'),
  steps: z.array(RunbookStep),
});
export type RunbookMatch = z.infer<typeof RunbookMatch>;

export const RetrievalMethod = z.enum(['lexical', 'hybrid']);
export type RetrievalMethod = z.infer<typeof RetrievalMethod>;

export const History = z.object({
  similarIncidents: z.array(SimilarIncident),
  runbooks: z.array(RunbookMatch),
  /** How the history was retrieved (absent in reports written before retrieval was recorded). */
  retrieval: z
    .object({
      store: z.enum(['file', 'postgres']),
      method: RetrievalMethod.describe('hybrid: lexical and embeddings fused; lexical: embeddings not configured or unavailable'),
      embeddingModel: z.string().optional(),
      notes: z.array(z.string()).describe('what was used, and any degradation (embeddings down, store unreachable)'),
    })
    .optional(),
});
export type History = z.infer<typeof History>;

export const PlanStep = z.object({
  id: z.string().describe('step-1, step-2, ... stable within the plan'),
  action: ActionKind,
  service: z.string(),
  description: z.string(),
  risk: RiskClass,
  params: z.object({
    replicas: z.number().int().optional(),
    toRelease: z.string().optional(),
    flag: z.string().optional(),
    enabled: z.boolean().optional(),
  }),
  compensation: z.string().describe('how this step is undone, in words'),
  runbook: z.string().optional(),
  /** High risk: prepared before the checkpoint, committed after it. */
  twoPhase: z.boolean().optional(),
  /** Set when the step has no undo: why, and the policy rule that allows it anyway (a person must always approve). */
  irreversible: z.object({ why: z.string(), rule: z.string() }).optional(),
});
export type PlanStep = z.infer<typeof PlanStep>;

/** A runbook step left out of the plan, and why. */
export const ExcludedStep = z.object({ action: ActionKind, service: z.string(), description: z.string(), reason: z.string() });
export type ExcludedStep = z.infer<typeof ExcludedStep>;

export const RemediationPlan = z.object({
  service: z.string().nullable(),
  steps: z.array(PlanStep),
  /** Runbook steps that are not in the plan (no undo and no policy mark). */
  excluded: z.array(ExcludedStep).optional(),
  summary: z.string(),
  /** SHA-256 of the plan and the evidence it rests on: approvals are bound to it. */
  digest: z.string(),
});
export type RemediationPlan = z.infer<typeof RemediationPlan>;

export const DecisionKind = z.enum(['approve', 'reject', 'override', 'rediagnose', 'takeover']);
export type DecisionKind = z.infer<typeof DecisionKind>;

export const Decision = z.object({
  kind: DecisionKind,
  actor: z.string().min(1).describe('identity of the person deciding'),
  reason: z.string().max(2000).optional(),
  /** For override: the root cause the person says it is. */
  rootCauseService: z.string().optional(),
  /** For override: what is wrong there (cpu, memory, latency, errors, db_connections, change:deploy...). */
  rootCauseIndicator: z.string().max(200).optional(),
  /** The digest of the plan and evidence the person saw; a stale one is refused. */
  planDigest: z.string().optional(),
  /** A signed approver token (v1.payload.signature); required unless the policy allows unsigned senders. */
  token: z.string().max(4096).optional(),
});
export type Decision = z.infer<typeof Decision>;

export const RecordedDecision = Decision.omit({ token: true }).extend({
  /** How the identity was established. */
  verifiedBy: z.enum(['token', 'allow-list']).optional(),
  at: z.string(),
  accepted: z.boolean(),
  role: z.string().optional(),
  refusal: z.string().optional(),
  policyVersion: z.string(),
});
export type RecordedDecision = z.infer<typeof RecordedDecision>;

export const Stage = z.enum([
  'intake',
  'analysis',
  'ranking',
  'history',
  'inference',
  'planning',
  'checkpoint',
  'remediation',
  'verification',
  'report',
  'closed',
]);
export type Stage = z.infer<typeof Stage>;

export const ActionRecord = z.object({
  stepId: z.string(),
  action: ActionKind,
  service: z.string(),
  phase: z.enum(['do', 'undo']),
  idempotencyKey: z.string(),
  ok: z.boolean(),
  error: z.string().optional(),
  result: ActionOutput.optional(),
  /** Set when the action was the commit of a prepared (two-phase) step. */
  preparedHandle: z.string().optional(),
  at: z.string(),
});
export type ActionRecord = z.infer<typeof ActionRecord>;

/** A high-risk step prepared (validated and staged) by the downstream, waiting for its commit. */
export const PreparedStep = PreparedAction.extend({ stepId: z.string() });
export type PreparedStep = z.infer<typeof PreparedStep>;

/** A prepared step released without being committed, and why. */
export const PreparedRelease = z.object({
  stepId: z.string(),
  handle: z.string(),
  /** aborted now; expired or unknown (nothing was held any more); failed (the release call failed: it lapses at expiresAt). */
  status: z.enum(['aborted', 'expired', 'unknown', 'failed']),
  reason: z.string(),
  expiresAt: z.number(),
  error: z.string().optional(),
  at: z.string(),
});
export type PreparedRelease = z.infer<typeof PreparedRelease>;

export const Verification = z.object({
  recovered: z.boolean(),
  checks: z.array(
    z.object({ service: z.string(), metric: z.string(), baseline: z.number(), threshold: z.number(), observed: z.number(), ok: z.boolean() }),
  ),
  summary: z.string(),
});
export type Verification = z.infer<typeof Verification>;

export const SagaResult = z.object({
  outcome: z.enum(['completed', 'failed-compensated', 'failed-compensation-incomplete', 'not-recovered-compensated', 'cancelled']),
  actions: z.array(ActionRecord),
  /** Steps whose undo failed: left for a person. */
  remainingUndo: z.array(PlanStep),
  verification: Verification.optional(),
  summary: z.string(),
  error: z.string().optional(),
  /** Prepared steps the saga released without committing them. */
  released: z.array(PreparedRelease).optional(),
});
export type SagaResult = z.infer<typeof SagaResult>;

export const Outcome = z.enum([
  'auto-resolved',
  'remediated',
  'not-recovered-rolled-back',
  'remediation-failed',
  'rejected',
  'escalated-no-decision',
  'no-action',
  'shadow',
  'manual-takeover',
]);
export type Outcome = z.infer<typeof Outcome>;

export const CheckpointState = z.object({
  required: z.boolean(),
  reasons: z.array(z.string()),
  since: z.string().optional(),
  /** Roles that may approve (per severity). */
  allowedRoles: z.array(z.string()),
  uncertain: z.boolean(),
  /** What an approval must echo: the plan+evidence digest and the alert revision seen. */
  bindingDigest: z.string().optional(),
  /** Escalation: the level now asked (0 = first), its role, and when it times out. */
  escalationLevel: z.number().int().nonnegative().default(0),
  notifiedRole: z.string().optional(),
  deadline: z.string().optional(),
  /** The steps that need a person, and why. */
  stepsNeedingApproval: z.array(z.string()).default([]),
  /** High-risk steps prepared before the checkpoint: what each commit will do; the approval binds to them. */
  prepared: z.array(PreparedStep).optional(),
  /** SHA-256 of the prepared steps (part of bindingDigest). */
  preparedDigest: z.string().optional(),
});
export type CheckpointState = z.infer<typeof CheckpointState>;

/**
 * How many alerts an incident holds, beside the bounded list the status carries. Absent in
 * statuses recorded before the list was bounded (their `alerts` held every alert).
 */
export const AlertCounts = z.object({
  alertsTotal: z.number().int().nonnegative().describe('every alert the incident received (the status lists at most 500)'),
  alertsFiring: z.number().int().nonnegative(),
  alertsResolved: z.number().int().nonnegative(),
  alertsBySource: z.record(z.string(), z.number().int().nonnegative()).describe('alerts per source (alertmanager, grafana, ...), for the metrics'),
});
export type AlertCounts = z.infer<typeof AlertCounts>;

/** The `incident-alerts` query's argument: a page of the incident's alerts in arrival order. */
export const AlertsPageRequest = z.object({
  offset: z.number().int().nonnegative().default(0),
  limit: z.number().int().positive().max(500).default(500).describe('at most 500 (src/alerts/bounded-alerts.ts ALERTS_PAGE_LIMIT)'),
});
export type AlertsPageRequest = z.infer<typeof AlertsPageRequest>;
/** What a caller sends (defaults filled in by the workflow's parse). */
export type AlertsPageQuery = z.input<typeof AlertsPageRequest>;

/** One page of the incident's alerts with the counts; `nextOffset` is null on the last page. */
export const AlertsPage = AlertCounts.extend({
  offset: z.number().int().nonnegative(),
  alerts: z.array(Alert),
  nextOffset: z.number().int().nonnegative().nullable(),
});
export type AlertsPage = z.infer<typeof AlertsPage>;

/** What the `status` query returns: everything a person needs to follow and decide. */
export const IncidentStatus = z.object({
  incidentId: z.string(),
  stage: Stage,
  severity: Severity,
  title: z.string(),
  /**
   * At most 500 alerts (src/alerts/bounded-alerts.ts statusAlerts): the incident's first
   * alert, then firing before resolved, most severe, most recent. `alertsTotal` says how
   * many there are; the `incident-alerts` query pages through all of them.
   */
  alerts: z.array(Alert),
  ...AlertCounts.partial().shape,
  /** Every alert, written to the evidence store when the list is truncated (the report references it). */
  alertsEvidence: z.object({ ref: z.string(), digest: z.string(), count: z.number().int().nonnegative() }).optional(),
  evidence: z.array(SourceEvidence),
  missingSources: z.array(z.string()),
  /** Services the topology knows: an override must name one of them. */
  topologyServices: z.array(z.string()),
  candidates: z.array(Candidate),
  /** The sub-agents' verdicts on the leading hypotheses (the candidates are re-ranked with them). */
  hypotheses: z.array(z.lazy(() => Hypothesis)).default([]),
  history: History.nullable(),
  inference: Inference.nullable(),
  /** The root cause acted on: the inference's, or a person's override. */
  rootCause: RootCause.nullable().default(null),
  plan: RemediationPlan.nullable(),
  checkpoint: CheckpointState.nullable(),
  decisions: z.array(RecordedDecision),
  saga: SagaResult.nullable(),
  /** Prepared steps released without a commit (rejection, timeout, takeover, re-plan, expiry). */
  releases: z.array(PreparedRelease).optional(),
  verification: Verification.nullable(),
  outcome: Outcome.nullable(),
  policyVersion: z.string().nullable(),
  timeline: z.array(z.object({ at: z.string(), stage: Stage, note: z.string() })),
  report: z
    .object({
      jsonPath: z.string(),
      markdownPath: z.string(),
      knowledgeError: z.string().optional().describe('the incident could not be added to the knowledge store (the report files were written)'),
    })
    .nullable(),
  /** The commander's post-incident label (`vigil close`): the knowledge base's ground truth. */
  feedback: z
    .object({ confirmedRootCause: z.string(), correct: z.boolean(), inferred: z.string().nullable(), helpful: z.boolean().nullable(), by: z.string(), at: z.string() })
    .optional(),
});
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** Loaded by an activity, handed to the workflow as data. */
export const IncidentContext = z.object({
  policy: Policy,
  settings: IncidentSettings,
});
export type IncidentContext = z.infer<typeof IncidentContext>;

/** The kill switch: all autonomous action stopped, globally or for some services. */
export const KillSwitchEntry = z.object({ by: z.string(), reason: z.string().optional(), at: z.string() });
export const KillSwitchState = z.object({
  global: KillSwitchEntry.nullable(),
  services: z.record(z.string(), KillSwitchEntry),
  history: z.array(z.object({ action: z.enum(['pause', 'resume']), service: z.string().optional(), by: z.string(), reason: z.string().optional(), at: z.string() })),
});
export type KillSwitchState = z.infer<typeof KillSwitchState>;
export const KillSwitchCommand = z.object({
  service: z.string().min(1).optional(),
  by: z.string().min(1),
  reason: z.string().max(1000).optional(),
});
export type KillSwitchCommand = z.infer<typeof KillSwitchCommand>;

export const SagaProgress = z.object({
  state: z.enum(['running', 'paused', 'verifying', 'compensating', 'done']),
  currentStep: z.string().nullable(),
  pausedReason: z.string().nullable(),
  actions: z.array(ActionRecord),
  notes: z.array(z.string()),
});
export type SagaProgress = z.infer<typeof SagaProgress>;

/** One root-cause hypothesis investigated by a sub-agent (a child workflow), with its verdict. */
export const HypothesisVerdict = z.enum(['supported', 'refuted', 'inconclusive', 'not-investigated']);
export type HypothesisVerdict = z.infer<typeof HypothesisVerdict>;
export const Hypothesis = z.object({
  service: z.string(),
  rank: z.number().int().positive().describe('its place in the ranking before investigation'),
  verdict: HypothesisVerdict,
  evidenceFor: z.array(z.string()),
  evidenceAgainst: z.array(z.string()),
  error: z.string().optional().describe('why it was not investigated'),
  toolCalls: z.number().int().nonnegative().default(0),
});
export type Hypothesis = z.infer<typeof Hypothesis>;
