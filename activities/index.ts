/**
 * The incident workflow's activities: all of vigil's I/O. Built by a factory that takes
 * its dependencies (tool gate, stores, configuration), so tests and processes wire them.
 * Analyses return summaries and references; raw telemetry stays in the evidence store.
 */
import { readFile } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { analyzeLogs } from '../src/analysis/log-templates.js';
import { analyzeMetrics, analyzeMetricsWithBaseline } from '../src/analysis/metrics.js';
import { analyzeTopology } from '../src/analysis/topology.js';
import { analyzeTraces } from '../src/analysis/traces.js';
import type { createAuditActivities } from '../src/audit/audit-activities.js';
import { canonicalJson, sha256, type EvidenceStore } from '../src/evidence/evidence-store.js';
import { FileKnowledgeStore } from '../src/knowledge/knowledge-store.js';
import type { Knowledge } from '../src/knowledge/open-knowledge.js';
import { retrieveHistory } from '../src/knowledge/retrieve-history.js';
import { loadRunbooks } from '../src/knowledge/runbooks.js';
import type { ToolGate } from '../src/mcp/tool-gate.js';
import { rankCandidates as rank } from '../src/ranking/rank-candidates.js';
import { inferRootCause as builtinInfer } from '../src/reasoner/builtin-reasoner.js';
import { judgeHypothesis } from '../src/hypothesis/judge-hypothesis.js';
import { rerankWithHypotheses } from '../src/hypothesis/rerank.js';
import { inferWithLlm, TokenBudget, type LlmConfig, type LlmProvider } from '../src/llm/index.js';
import { compensationFor, planRemediation as plan } from '../src/remediation/plan-remediation.js';
import { judgeRecovery, SYMPTOM_METRICS } from '../src/remediation/verify-recovery.js';
import type { Alert } from '../src/schemas/alert.js';
import type { ActionOutput, MetricsBaselineOutput, ServiceState, TracesBaselineOutput } from '../src/schemas/capabilities.js';
import type { Candidate, RankingInput, SourceEvidence, TopologyEvidence } from '../src/schemas/evidence.js';
import {
  IncidentSettings,
  type History,
  type IncidentContext,
  type Hypothesis,
  type IncidentStatus,
  type Inference,
  type KillSwitchState,
  type PlanStep,
  type PreparedRelease,
  type PreparedStep,
  type RemediationPlan,
  type RootCause,
  type Verification,
} from '../src/schemas/incident.js';
import { Policy } from '../src/schemas/policy.js';
import type { Topology } from '../src/schemas/telemetry.js';
import { writeReportFiles } from '../src/report/report-store.js';
import { postWebhooks, type Notification, type WebhookTarget } from '../src/notify/webhooks.js';
import type { HypothesisInput } from '../workflows/hypothesis-workflow.js';

export interface ActivityDeps {
  gate: ToolGate;
  evidence: EvidenceStore;
  policyFile: string;
  runbooksDir: string;
  reportsDir: string;
  /** Worker-level defaults for incident settings. */
  settings: Partial<IncidentSettings>;
  temporalUiUrl?: string;
  namespace?: string;
  /** The LLM, when one is configured (VIGIL_LLM_*); absent = the built-in reasoner decides alone. */
  llm?: { provider: LlmProvider; config: LlmConfig };
  /** The knowledge base (store, optional embeddings); absent = the report files under reportsDir, lexical only. */
  knowledge?: Knowledge;
  /** Reads the kill switch (a Temporal query in a worker); null = never set. */
  readKillSwitch: () => Promise<KillSwitchState | null>;
}

export interface AnalysisRequest {
  incidentId: string;
  alertedServices: string[];
  incidentStart: number;
  baselineStart: number;
  end: number;
  stepSeconds: number;
}

/** Evidence stats say which fault-free reference period the window was judged against, if any. */
function withBaselineStats<E extends SourceEvidence>(ev: E, reference: { period: { start: number; end: number } | null } | null): E {
  if (!reference?.period) return ev;
  return { ...ev, stats: { ...ev.stats, referenceStart: reference.period.start, referenceEnd: reference.period.end } };
}

/** Attempts of writeReport at adding the incident to the knowledge store before giving up on it. */
const KNOWLEDGE_PUT_ATTEMPTS = 3;

/** How long before the incident start a deploy counts as a recent change. */
const RECENT_CHANGE_SECONDS = 3600;

export function createActivities(deps: ActivityDeps) {
  const heartbeat = (details: string) => {
    try {
      Context.current().heartbeat(details);
    } catch {
      // not inside an activity (direct call in a unit test)
    }
  };

  const keep = async (incidentId: string, name: string, data: unknown) => deps.evidence.put(incidentId, name, data);

  const withRef = (ev: SourceEvidence, stored: { ref: string; digest: string }): SourceEvidence => ({ ...ev, ref: stored.ref, digest: stored.digest });

  const notConfigured = (source: SourceEvidence['source']): SourceEvidence => ({
    source,
    status: 'missing',
    error: `no ${source} source is configured`,
    findings: [],
    stats: {},
  });

  /**
   * The fault-free reference for the incident window, when a `metrics.baseline` /
   * `traces.baseline` tool is bound and has data; null otherwise (the analyses then
   * judge the window against its own recent past).
   */
  const referenceMetrics = async (req: AnalysisRequest): Promise<MetricsBaselineOutput | null> => {
    if (!deps.gate.has('metrics.baseline')) return null;
    heartbeat('querying baseline metrics');
    const ref = await deps.gate.call('metrics.baseline', { start: req.incidentStart, end: req.end, step: req.stepSeconds }, { incidentId: req.incidentId, stage: 'diagnosis' });
    return ref.series.length > 0 ? ref : null;
  };
  const referenceTraces = async (req: AnalysisRequest): Promise<TracesBaselineOutput | null> => {
    if (!deps.gate.has('traces.baseline')) return null;
    heartbeat('searching baseline traces');
    const ref = await deps.gate.call('traces.baseline', { start: req.incidentStart, end: req.end, limit: 200_000 }, { incidentId: req.incidentId, stage: 'diagnosis' });
    return ref.spans.length > 0 ? ref : null;
  };

  const knowledge: Knowledge = deps.knowledge ?? { store: new FileKnowledgeStore({ reportsDir: deps.reportsDir }), similarIncidents: 3, runbooks: 5 };
  const signalOf = (): AbortSignal | undefined => {
    try {
      return Context.current().cancellationSignal;
    } catch {
      return undefined; // called outside an activity
    }
  };

  const readTopology = async (incidentId: string): Promise<Topology> => deps.gate.call('topology.get', {}, { incidentId, stage: 'diagnosis' });

  return {
    async loadIncidentContext(input: { overrides: Partial<IncidentSettings> }): Promise<IncidentContext> {
      const text = await readFile(deps.policyFile, 'utf8');
      const parsed = Policy.safeParse(parseYaml(text));
      if (!parsed.success) {
        throw ApplicationFailure.create({ type: 'InvalidPolicy', nonRetryable: true, message: `policy ${deps.policyFile}: ${z.prettifyError(parsed.error)}` });
      }
      const settings = IncidentSettings.parse({
        ...deps.settings,
        ...(deps.temporalUiUrl ? { temporalUiUrl: deps.temporalUiUrl } : {}),
        ...input.overrides,
      });
      return { policy: parsed.data, settings };
    },

    async analyzeMetrics(req: AnalysisRequest): Promise<SourceEvidence> {
      if (!deps.gate.has('metrics.query_range')) return notConfigured('metrics');
      heartbeat('querying metrics');
      const { series } = await deps.gate.call(
        'metrics.query_range',
        { start: req.baselineStart, end: req.end, step: req.stepSeconds },
        { incidentId: req.incidentId, stage: 'diagnosis' },
      );
      const reference = await referenceMetrics(req);
      const stored = await keep(req.incidentId, 'metrics', reference ? { series, baseline: reference } : series);
      heartbeat('scoring metrics');
      const ev = reference
        ? analyzeMetricsWithBaseline({ series, baselineSeries: reference.series, incidentStart: req.incidentStart })
        : analyzeMetrics({ series, incidentStart: req.incidentStart });
      return withRef(withBaselineStats(ev, reference), stored);
    },

    async analyzeLogs(req: AnalysisRequest): Promise<SourceEvidence> {
      if (!deps.gate.has('logs.search')) return notConfigured('logs');
      heartbeat('searching logs');
      const { logs, truncated } = await deps.gate.call(
        'logs.search',
        { start: req.baselineStart, end: req.end, limit: 50_000 },
        { incidentId: req.incidentId, stage: 'diagnosis' },
      );
      const stored = await keep(req.incidentId, 'logs', logs);
      heartbeat('mining log templates');
      const ev = withRef(analyzeLogs({ logs, incidentStart: req.incidentStart }), stored);
      return { ...ev, stats: { ...ev.stats, truncated: truncated ? 1 : 0 } };
    },

    async analyzeTraces(req: AnalysisRequest): Promise<SourceEvidence> {
      if (!deps.gate.has('traces.search')) return notConfigured('traces');
      heartbeat('searching traces');
      const { spans } = await deps.gate.call(
        'traces.search',
        { start: req.baselineStart, end: req.end, limit: 200_000 },
        { incidentId: req.incidentId, stage: 'diagnosis' },
      );
      const reference = await referenceTraces(req);
      const stored = await keep(req.incidentId, 'traces', reference ? { spans, baseline: reference } : spans);
      heartbeat('analysing spans');
      const { callGraph: _callGraph, ...ev } = analyzeTraces({ spans, incidentStart: req.incidentStart, ...(reference ? { baselineSpans: reference.spans } : {}) });
      return withRef(withBaselineStats(ev, reference), stored);
    },

    async analyzeTopology(req: AnalysisRequest): Promise<TopologyEvidence> {
      if (!deps.gate.has('topology.get')) return { ...notConfigured('topology'), topology: null, blastRadius: [] };
      const topology = await readTopology(req.incidentId);
      const stored = await keep(req.incidentId, 'topology', topology);
      const ev = analyzeTopology({ topology, alertedServices: req.alertedServices, incidentStart: req.incidentStart });
      return { ...ev, ref: stored.ref, digest: stored.digest };
    },

    async rankCandidates(input: RankingInput): Promise<Candidate[]> {
      return rank(input);
    },

    /**
     * A sub-agent's targeted look at one hypothesis: that service's metrics at fine
     * resolution, its warnings and errors, the traces that touch it, its recent changes.
     */
    async investigateHypothesis(input: HypothesisInput): Promise<Hypothesis> {
      const ctx = { incidentId: input.incidentId, stage: 'diagnosis' as const };
      const window = { start: input.baselineStart, end: input.end };
      let calls = 0;
      const optional = async <T>(capability: Parameters<ToolGate['has']>[0], fetch: () => Promise<T>, empty: T): Promise<T> => {
        if (!deps.gate.has(capability)) return empty;
        calls++;
        heartbeat(`${input.service}: ${capability}`);
        return fetch();
      };
      const incidentWindow = { start: input.incidentStart, end: input.end };
      const [metrics, logs, traces, topology, baselineMetrics, baselineTraces] = await Promise.all([
        optional('metrics.query_range', () => deps.gate.call('metrics.query_range', { ...window, step: input.stepSeconds, service: input.service }, ctx), { series: [] }),
        optional('logs.search', () => deps.gate.call('logs.search', { ...window, service: input.service, level: 'warn', limit: 20_000 }, ctx), { logs: [], truncated: false }),
        optional('traces.search', () => deps.gate.call('traces.search', { ...window, service: input.service, limit: 50_000 }, ctx), { spans: [], truncated: false }),
        optional('topology.get', () => readTopology(input.incidentId), null),
        optional('metrics.baseline', () => deps.gate.call('metrics.baseline', { ...incidentWindow, step: input.stepSeconds, service: input.service }, ctx), { series: [], period: null }),
        optional('traces.baseline', () => deps.gate.call('traces.baseline', { ...incidentWindow, service: input.service, limit: 50_000 }, ctx), { spans: [], truncated: false, period: null }),
      ]);
      const judged = judgeHypothesis({
        service: input.service,
        incidentStart: input.incidentStart,
        series: metrics.series,
        logs: logs.logs,
        spans: traces.spans,
        topology,
        incidentFindings: input.incidentFindings,
        baselineSeries: baselineMetrics.series,
        baselineSpans: baselineTraces.spans,
      });
      return { service: input.service, rank: input.rank, ...judged, toolCalls: calls };
    },

    async rerankCandidates(input: { candidates: Candidate[]; hypotheses: Hypothesis[] }): Promise<Candidate[]> {
      return rerankWithHypotheses(input.candidates, input.hypotheses);
    },

    /**
     * Similar past incidents and matching runbooks (src/knowledge/retrieve-history.ts).
     * An unreachable knowledge store or embeddings endpoint never fails the incident: the
     * history then has what could be retrieved, and its `retrieval.notes` say what was not.
     */
    async searchHistory(input: { incidentId: string; candidates: Candidate[]; alerts: Alert[] }): Promise<History> {
      const runbooks = await loadRunbooks(deps.runbooksDir);
      const signal = signalOf();
      return retrieveHistory(input, {
        store: knowledge.store,
        runbooks,
        ...(knowledge.embedder ? { embedder: knowledge.embedder } : {}),
        similarIncidents: knowledge.similarIncidents,
        runbookLimit: knowledge.runbooks,
        ...(signal ? { signal } : {}),
      });
    },

    /**
     * The built-in reasoner decides from the ranked evidence and history; with an LLM
     * configured, the model is asked too, and may confirm (a little more confidence) or
     * dispute (confidence capped, a person decides) but never picks the root cause alone.
     */
    async inferRootCause(input: {
      incidentId: string;
      candidates: Candidate[];
      evidence: SourceEvidence[];
      history: History;
      alerts: Alert[];
      topologyServices: string[];
      confidenceThreshold: number;
      llmTokensUsed?: number;
    }): Promise<Inference> {
      const builtin = builtinInfer({
        candidates: input.candidates,
        evidence: input.evidence,
        similarIncidents: input.history.similarIncidents
          .filter((s) => s.rootCauseService)
          .map((s) => ({ service: s.rootCauseService ?? '', similarity: s.similarity })),
      });
      if (!deps.llm) return { reasoner: 'builtin', ...builtin, decidedBy: 'builtin', handOff: false, notes: [] };
      const signal = signalOf();
      return inferWithLlm({
        provider: deps.llm.provider,
        budget: new TokenBudget({ maxTokens: deps.llm.config.maxTokensPerIncident, usedTokens: input.llmTokensUsed ?? 0 }),
        candidates: input.candidates,
        evidence: input.evidence,
        alerts: input.alerts,
        knownServices: input.topologyServices,
        history: input.history,
        builtin,
        confidenceThreshold: input.confidenceThreshold,
        maxOutputTokens: deps.llm.config.maxOutputTokens,
        deadlineMs: 90_000,
        ...(signal ? { signal } : {}),
      });
    },

    async planRemediation(input: {
      incidentId: string;
      rootCause: RootCause | null;
      incidentStart: number;
      history: History;
      policy: Policy;
      evidenceDigests: string[];
      environment?: string;
    }): Promise<RemediationPlan> {
      const runbooks = await loadRunbooks(deps.runbooksDir);
      let state: ServiceState | null = null;
      let recentDeploy = false;
      if (input.rootCause) {
        const service = input.rootCause.service;
        const [st, topology] = await Promise.all([
          deps.gate.has('remediation.get_state') ? deps.gate.call('remediation.get_state', { service }, { incidentId: input.incidentId, stage: 'diagnosis' }).catch(() => null) : null,
          deps.gate.has('topology.get') ? readTopology(input.incidentId).catch(() => null) : null,
        ]);
        state = st;
        recentDeploy = (topology?.changes ?? []).some(
          (c) => c.service === service && c.kind === 'deploy' && c.at >= input.incidentStart - RECENT_CHANGE_SECONDS && c.at <= input.incidentStart + 60,
        );
      }
      return plan({
        rootCause: input.rootCause,
        runbooks,
        policy: input.policy,
        recentDeploy,
        state,
        evidenceDigests: input.evidenceDigests,
        environment: input.environment,
        twoPhaseSupported: deps.gate.has('remediation.prepare') && deps.gate.has('remediation.commit') && deps.gate.has('remediation.abort'),
      });
    },

    async captureServiceState(input: { incidentId: string; service: string }): Promise<ServiceState> {
      return deps.gate.call('remediation.get_state', { service: input.service }, { incidentId: input.incidentId, stage: 'remediation' });
    },

    async executeStep(input: { incidentId: string; step: PlanStep; before: ServiceState; idempotencyKey: string }): Promise<ActionOutput> {
      return runAction(deps.gate, input.incidentId, input.step, input.idempotencyKey, 'do', input.before);
    },

    /**
     * First phase of high-risk steps: each is validated and staged by the downstream
     * (nothing changes), in plan order. Returns what each commit will do and the digest
     * an approval binds to. If one cannot be prepared, those prepared already are
     * released and the failure names the step; retries reuse the keys (same handles).
     */
    async prepareSteps(input: {
      incidentId: string;
      steps: PlanStep[];
      /** Idempotency key of each step's prepare call. */
      keys: Record<string, string>;
      ttlSeconds: number;
      stage: 'preparation' | 'remediation';
    }): Promise<{ prepared: PreparedStep[]; digest: string }> {
      const ctx = { incidentId: input.incidentId, stage: input.stage };
      const prepared: PreparedStep[] = [];
      for (const step of input.steps) {
        const key = input.keys[step.id];
        if (!key) throw ApplicationFailure.create({ type: 'PrepareFailed', nonRetryable: true, message: `no prepare key for ${step.id}` });
        try {
          const p = await deps.gate.call('remediation.prepare', { ...prepareArgs(step), ttlSeconds: input.ttlSeconds, idempotencyKey: key }, ctx);
          prepared.push({ ...p, stepId: step.id });
        } catch (err) {
          const retryable = err instanceof ApplicationFailure ? !err.nonRetryable : true;
          if (retryable) throw err;
          const released = await Promise.all(
            prepared.map((p) =>
              deps.gate
                .call('remediation.abort', { handle: p.handle, reason: `prepare of ${step.id} failed` }, ctx)
                .then((r) => `${p.stepId} ${r.status}`)
                .catch((e: unknown) => `${p.stepId} not released (${(e as Error).message}; it lapses at ${new Date(p.expiresAt * 1000).toISOString()})`),
            ),
          );
          throw ApplicationFailure.create({
            type: 'PrepareFailed',
            nonRetryable: true,
            message: `prepare of ${step.id} (${step.description}) failed: ${(err as Error).message}${released.length ? `; released: ${released.join(', ')}` : ''}`,
          });
        }
      }
      return { prepared, digest: preparedDigest(prepared) };
    },

    /** Second phase: carry out a prepared step (once per idempotency key). */
    async commitPrepared(input: { incidentId: string; step: PlanStep; handle: string; idempotencyKey: string }): Promise<ActionOutput> {
      return deps.gate.call('remediation.commit', { handle: input.handle, idempotencyKey: input.idempotencyKey }, { incidentId: input.incidentId, stage: 'remediation' });
    },

    /** Release prepared steps that will not be committed; one result per step (a failed release lapses at its expiry). */
    async abortPrepared(input: { incidentId: string; prepared: PreparedStep[]; reason: string; stage: 'preparation' | 'remediation' }): Promise<PreparedRelease[]> {
      const ctx = { incidentId: input.incidentId, stage: input.stage };
      return Promise.all(
        input.prepared.map(async (p): Promise<PreparedRelease> => {
          const at = new Date().toISOString();
          try {
            const r = await deps.gate.call('remediation.abort', { handle: p.handle, reason: input.reason.slice(0, 500) }, ctx);
            return { stepId: p.stepId, handle: p.handle, status: r.status, reason: input.reason, expiresAt: p.expiresAt, at };
          } catch (err) {
            return { stepId: p.stepId, handle: p.handle, status: 'failed', reason: input.reason, expiresAt: p.expiresAt, error: (err as Error).message, at };
          }
        }),
      );
    },

    async compensateStep(input: { incidentId: string; step: PlanStep; before: ServiceState; idempotencyKey: string }): Promise<ActionOutput> {
      return runAction(deps.gate, input.incidentId, input.step, input.idempotencyKey, 'undo', input.before);
    },

    async verifyRecovery(input: {
      incidentId: string;
      services: string[];
      baselineStart: number;
      baselineEnd: number;
      windowSeconds: number;
      toleranceMads: number;
    }): Promise<Verification> {
      const ctx = { incidentId: input.incidentId, stage: 'verification' as const };
      const fetch = async (start: number, end: number, step: number) => {
        const out = [];
        for (const service of input.services) {
          for (const metric of SYMPTOM_METRICS) {
            const { series } = await deps.gate.call('metrics.query_range', { start, end, step, service, metric }, ctx);
            out.push(...series);
          }
        }
        return out;
      };
      const baseline = await fetch(input.baselineStart, input.baselineEnd, 15);
      const actedAt = Date.now() / 1000;
      const deadline = actedAt + input.windowSeconds;
      let last: Verification = { recovered: false, checks: [], summary: 'not checked yet' };
      // Poll within the policy window: recovered as soon as recent symptoms are back under baseline.
      for (;;) {
        await new Promise((r) => setTimeout(r, 2000));
        const now = Date.now() / 1000;
        heartbeat(`verifying recovery (${Math.round(now - actedAt)}s)`);
        const recent = await fetch(Math.max(actedAt, now - 10), now, 1);
        last = judgeRecovery({ baseline, recent, toleranceMads: input.toleranceMads });
        if (last.recovered || now >= deadline) return last;
      }
    },

    /** Is autonomous action paused for this service (or everywhere)? Unreadable = an error, so nothing acts blind. */
    async killSwitchState(input: { service: string }): Promise<{ paused: boolean; reason: string }> {
      const state = await deps.readKillSwitch();
      const entry = state?.global ?? state?.services[input.service];
      if (!entry) return { paused: false, reason: '' };
      const scope = state?.global ? 'everywhere' : `for ${input.service}`;
      return { paused: true, reason: `autonomous action paused ${scope} by ${entry.by} at ${entry.at}${entry.reason ? `: ${entry.reason}` : ''}` };
    },

    /**
     * Keeps one part of an incident's alerts in the evidence store (`alerts-part-<n>`): the
     * workflow hands a storm's alerts over in parts that each fit a payload. Idempotent.
     */
    async storeAlertsPart(input: { incidentId: string; part: number; alerts: Alert[] }): Promise<{ ref: string; count: number }> {
      const stored = await keep(input.incidentId, `alerts-part-${input.part}`, input.alerts);
      return { ref: stored.ref, count: input.alerts.length };
    },

    /**
     * Joins the stored parts into the incident's whole alert list (`alerts.json`, arrival
     * order), for the report to reference; returns its reference, digest and size.
     */
    async joinAlertsParts(input: { incidentId: string; parts: string[] }): Promise<{ ref: string; digest: string; count: number }> {
      const all: unknown[] = [];
      for (const ref of input.parts) {
        const part = await deps.evidence.get(ref);
        if (!Array.isArray(part)) throw ApplicationFailure.create({ type: 'InvalidEvidence', nonRetryable: true, message: `${ref} holds no alert list` });
        all.push(...(part as unknown[]));
      }
      const stored = await keep(input.incidentId, 'alerts', all);
      return { ...stored, count: all.length };
    },

    /** Notifies the policy's webhooks; fails (and is retried) only if none could be reached. */
    async notify(input: Notification & { webhooks: WebhookTarget[] }): Promise<{ delivered: string[]; failed: { url: string; error: string }[] }> {
      const { webhooks, ...n } = input;
      const out = await postWebhooks(n, webhooks);
      if (out.delivered.length === 0 && out.failed.length > 0) {
        throw ApplicationFailure.create({ type: 'NotificationFailed', message: out.failed.map((f) => `${f.url}: ${f.error}`).join('; ') });
      }
      return out;
    },

    /**
     * Writes the report files and adds the closed incident to the knowledge store. A store
     * that stays unreachable is retried twice (Temporal retries the activity), then left:
     * the incident still closes, and its status and report files say it was not added.
     */
    async writeReport(input: { status: IncidentStatus; temporal: { workflowId: string; runId: string } }): Promise<{ jsonPath: string; markdownPath: string; knowledgeError?: string }> {
      const ui = deps.temporalUiUrl
        ? `${deps.temporalUiUrl}/namespaces/${deps.namespace ?? 'default'}/workflows/${encodeURIComponent(input.temporal.workflowId)}/${input.temporal.runId}/history`
        : undefined;
      const closed: IncidentStatus = { ...input.status, stage: 'closed' };
      const links = ui ? { temporalUi: ui } : {};
      const paths = await writeReportFiles(deps.reportsDir, closed, links);
      try {
        await knowledge.store.putIncident({ ...closed, report: paths });
        return paths;
      } catch (err) {
        let attempt = 1;
        try {
          attempt = Context.current().info.attempt;
        } catch {
          // outside an activity: no retry to wait for
          attempt = KNOWLEDGE_PUT_ATTEMPTS;
        }
        if (attempt < KNOWLEDGE_PUT_ATTEMPTS) throw err;
        const knowledgeError = `not added to the knowledge store (${knowledge.store.location}): ${err instanceof Error ? err.message : String(err)}`;
        // The report files say so too; if rewriting them fails, the first ones stand (the status still says it).
        await writeReportFiles(deps.reportsDir, closed, links, { knowledgeError }).catch(() => undefined);
        return { ...paths, knowledgeError };
      }
    },
  };
}

/** Every activity a vigil worker registers: the incident's, plus the audit log's. */
export type Activities = ReturnType<typeof createActivities> & ReturnType<typeof createAuditActivities>;

/** The prepare arguments of a step (what it will do, as the single-phase action would). */
function prepareArgs(step: PlanStep): { service: string; action: PlanStep['action']; replicas?: number; toRelease?: string; flag?: string; enabled?: boolean } {
  const base = { service: step.service, action: step.action };
  switch (step.action) {
    case 'restart':
      return base;
    case 'scale':
      return { ...base, ...(step.params.replicas !== undefined ? { replicas: step.params.replicas } : {}) };
    case 'rollback':
      return { ...base, ...(step.params.toRelease !== undefined ? { toRelease: step.params.toRelease } : {}) };
    case 'set_flag':
      return { ...base, ...(step.params.flag !== undefined ? { flag: step.params.flag } : {}), enabled: step.params.enabled ?? false };
  }
}

/** What an approval of prepared steps binds to: each handle with what its commit will do, against which state, until when. */
export function preparedDigest(prepared: PreparedStep[]): string {
  return sha256(
    canonicalJson(prepared.map((p) => ({ stepId: p.stepId, handle: p.handle, service: p.service, action: p.action, parameters: p.parameters, before: p.before, expected: p.expected, expiresAt: p.expiresAt, summary: p.summary }))),
  );
}

async function runAction(gate: ToolGate, incidentId: string, step: PlanStep, key: string, phase: 'do' | 'undo', before: ServiceState): Promise<ActionOutput> {
  const ctx = { incidentId, stage: 'remediation' as const };
  const s = step.service;
  if (phase === 'do') {
    switch (step.action) {
      case 'restart':
        return gate.call('remediation.restart', { service: s, idempotencyKey: key }, ctx);
      case 'scale':
        return gate.call('remediation.scale', { service: s, replicas: step.params.replicas ?? before.replicas + 1, idempotencyKey: key }, ctx);
      case 'rollback': {
        const to = step.params.toRelease ?? before.previousRelease;
        if (!to) throw ApplicationFailure.create({ type: 'ActionRefused', nonRetryable: true, message: `${s} has no previous release to roll back to` });
        return gate.call('remediation.rollback', { service: s, toRelease: to, idempotencyKey: key }, ctx);
      }
      case 'set_flag':
        return gate.call('remediation.set_flag', { service: s, flag: step.params.flag ?? '', enabled: step.params.enabled ?? false, idempotencyKey: key }, ctx);
    }
  }
  // Undo: restore what was recorded before the step.
  switch (step.action) {
    case 'restart':
      // Nothing to undo; report the current state as the outcome.
      return { ok: true, idempotencyKey: key, replayed: false, before, after: before, message: compensationFor(step) };
    case 'scale':
      return gate.call('remediation.scale', { service: s, replicas: before.replicas, idempotencyKey: key }, ctx);
    case 'rollback':
      return gate.call('remediation.rollback', { service: s, toRelease: before.release, idempotencyKey: key }, ctx);
    case 'set_flag':
      return gate.call('remediation.set_flag', { service: s, flag: step.params.flag ?? '', enabled: before.flags[step.params.flag ?? ''] ?? false, idempotencyKey: key }, ctx);
  }
}
