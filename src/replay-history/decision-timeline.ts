/**
 * The decision timeline of an incident, read from its workflow history alone (so it
 * works for a running incident, whose result does not exist yet): each stage with its
 * time, the evidence each analysis returned, the ranking, the inferred root cause, the
 * plan, whether a person was asked and who decided what, what ran, what was compensated,
 * the verification and the outcome. A remediation child's history, when given, adds the
 * saga's own steps as they happened.
 *
 * Histories are data from the past: every field is read defensively (older workflow code
 * may have recorded other shapes), and unknown activities, signals and children appear
 * under their own names.
 */
import type { Candidate, SourceEvidence } from '../schemas/evidence.js';
import type { ActionRecord, Hypothesis, Inference, RecordedDecision, RemediationPlan, SagaResult, Verification } from '../schemas/incident.js';
import type { History } from './history-json.js';
import { decodePayloads, durationText, eventViews, failureText, firstPayload, num, startOf, type EventView } from './history-events.js';

export interface TimelineEntry {
  at: string;
  eventId: number;
  /** Which history: "incident", "remediation", or the child's workflow id. */
  workflow: string;
  stage: string;
  what: string;
  detail?: unknown;
}

export interface TimelineDecision {
  at: string;
  eventId: number;
  kind: string;
  actor: string;
  role?: string;
  verifiedBy?: string;
  accepted: boolean;
  reason?: string;
  refusal?: string;
  rootCauseService?: string;
  /** The client identity that sent the update or signal. */
  via?: string;
  channel: 'update' | 'signal';
}

export interface TimelineAction {
  at: string;
  stepId: string;
  action: string;
  service: string;
  phase: 'do' | 'undo';
  ok: boolean;
  message?: string;
}

export interface DecisionTimeline {
  workflowType: string;
  workflowId?: string;
  /** running, completed, failed, terminated, cancelled, timed-out, continued-as-new. */
  status: string;
  startedAt: string;
  closedAt?: string;
  severity?: string;
  alerts: { fingerprint: string; status: string; name: string; service?: string }[];
  policyVersion?: string;
  evidence: { source: string; status: string; findings: number; top?: string; error?: string }[];
  ranking: { service: string; score: number; indicator?: string }[];
  hypotheses: { service: string; verdict: string }[];
  rootCause?: { service: string; indicator?: string } | null;
  confidence?: number;
  reasoner?: string;
  plan?: { summary: string; steps: { id: string; action: string; service: string; risk: string }[] };
  checkpoint: { required: boolean | 'unknown'; reasons: string[]; waitedFrom?: string; waitedUntil?: string };
  decisions: TimelineDecision[];
  actions: TimelineAction[];
  compensations: TimelineAction[];
  verification?: { recovered: boolean; summary: string };
  outcome?: string;
  report?: string;
  entries: TimelineEntry[];
}

const ANALYSES: Record<string, string> = { analyzeMetrics: 'metrics', analyzeLogs: 'logs', analyzeTraces: 'traces', analyzeTopology: 'topology' };

const SIDE_ACTIVITIES = new Set(['recordEvidence', 'notify']);

const pct = (x: number) => `${Math.round(x * 100)}%`;
const score = (x: number) => x.toFixed(2);
type Loose<T> = Partial<T> & Record<string, unknown>;

function topFinding(ev: Loose<SourceEvidence>): string | undefined {
  const f = [...(ev.findings ?? [])].sort((a, b) => (b.score ?? 0) - (a.score ?? 0))[0];
  return f ? `${f.service} ${f.indicator} (${score(f.score)}): ${f.summary}` : undefined;
}

function rankingText(cands: Loose<Candidate>[]): string {
  return cands
    .slice(0, 5)
    .map((c, i) => `${i + 1}. ${c.service ?? '?'}${c.indicator ? ` [${c.indicator}]` : ''} ${score(c.score ?? 0)}`)
    .join(', ');
}

function planText(p: Loose<RemediationPlan>): string {
  const steps = (p.steps ?? []).map((s) => `${s.id} ${s.action} ${s.service} (${s.risk})`).join(', ');
  return `${p.summary ?? 'plan'}${steps ? ` — ${steps}` : ''}`;
}

interface Pending {
  type: string;
  input: unknown;
  scheduledAt: string;
  stage: string;
}

/**
 * Builds the timeline of one workflow history. `children` are the histories of its child
 * workflows by workflow id (e.g. `<incident>-remediation`), merged in when present.
 */
export function decisionTimeline(history: History, opts: { workflowId?: string; children?: ReadonlyMap<string, History> } = {}): DecisionTimeline {
  const start = startOf(history);
  const tl: DecisionTimeline = {
    workflowType: start.workflowType,
    ...(opts.workflowId ? { workflowId: opts.workflowId } : {}),
    status: 'running',
    startedAt: start.at,
    alerts: [],
    evidence: [],
    ranking: [],
    hypotheses: [],
    checkpoint: { required: 'unknown', reasons: [] },
    decisions: [],
    actions: [],
    compensations: [],
    entries: [],
  };
  const mergedChildren = new Set<string>();
  readInto(tl, eventViews(history), start.workflowType === 'RemediationSagaWorkflow' ? 'remediation' : 'incident', start.input, opts.children ?? new Map(), mergedChildren);
  tl.entries.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return tl;
}

function readInto(tl: DecisionTimeline, events: EventView[], workflow: string, input: unknown, children: ReadonlyMap<string, History>, merged: Set<string>): void {
  const activities = new Map<number, Pending>();
  const childIds = new Map<number, { workflowId: string; type: string; input: unknown }>();
  const updates = new Map<string, { decision: Loose<RecordedDecision>; via?: string; eventId: number; at: string }>();
  const alerts = new Map<string, { fingerprint: string; status: string; name: string; service?: string }>();
  let stage = workflow === 'remediation' ? 'remediation' : 'intake';
  let planned = false;
  const add = (e: EventView, what: string, detail?: unknown, at = e.at) => tl.entries.push({ at, eventId: e.id, workflow, stage, what, ...(detail !== undefined ? { detail } : {}) });

  const addAlerts = (list: unknown) => {
    for (const a of Array.isArray(list) ? (list as Loose<{ fingerprint: string; status: string; labels: Record<string, string> }>[]) : []) {
      const fp = String(a.fingerprint ?? '?');
      const prev = alerts.get(fp);
      if (prev && !(prev.status !== a.status && a.status === 'resolved')) continue;
      const service = a.labels?.['service'] ?? a.labels?.['job'] ?? a.labels?.['app'];
      alerts.set(fp, { fingerprint: fp, status: String(a.status ?? '?'), name: a.labels?.['alertname'] ?? 'alert', ...(service ? { service } : {}) });
    }
    tl.alerts = [...alerts.values()];
    const sev = [...(Array.isArray(list) ? (list as Loose<{ labels: Record<string, string> }>[]) : [])].map((a) => a.labels?.['severity']).filter(Boolean);
    if (sev.length && !tl.severity) tl.severity = String(sev[0]).toUpperCase();
  };

  if (workflow === 'incident') addAlerts((input as { alerts?: unknown } | undefined)?.alerts);

  for (const e of events) {
    const a = e.attrs;
    switch (e.type) {
      case 'WorkflowExecutionStarted': {
        const i = input as Loose<{ incidentId: string; alerts: unknown[]; plan: RemediationPlan }> | undefined;
        if (workflow === 'remediation') add(e, `remediation saga started: ${i?.plan ? planText(i.plan as Loose<RemediationPlan>) : ''}`);
        else add(e, `${start(a)} started${i?.incidentId ? ` (incident ${i.incidentId})` : ''}${i?.alerts?.length ? ` with ${i.alerts.length} alert(s)` : ''}`);
        break;
      }
      case 'WorkflowExecutionSignaled': {
        const name = String(a['signalName'] ?? '?');
        const [arg] = decodePayloads(a['input']);
        if (name === 'alerts') {
          const batch = arg as Loose<{ alerts: Loose<{ status: string; labels: Record<string, string> }>[]; deliveryId: string; note: string }> | undefined;
          addAlerts(batch?.alerts);
          const list = (batch?.alerts ?? []).map((x) => `${x.labels?.['alertname'] ?? 'alert'}${x.labels?.['service'] ? ` on ${x.labels['service']}` : ''} ${x.status ?? ''}`);
          add(e, `alerts received (${batch?.deliveryId ?? '?'}): ${list.join('; ')}${batch?.note ? ` — ${batch.note}` : ''}`, arg);
        } else if (name === 'decide-signal') {
          const d = arg as Loose<RecordedDecision> | undefined;
          tl.decisions.push({
            at: e.at,
            eventId: e.id,
            kind: String(d?.kind ?? '?'),
            actor: String(d?.actor ?? '?'),
            accepted: false,
            channel: 'signal',
            ...(d?.reason ? { reason: d.reason } : {}),
            ...(typeof a['identity'] === 'string' && a['identity'] ? { via: a['identity'] } : {}),
          });
          add(e, `decision by signal: ${d?.kind ?? '?'} by ${d?.actor ?? '?'} (accepted or refused inside the workflow; see the result)`, redact(arg));
        } else add(e, `signal ${name}`, arg);
        break;
      }
      case 'WorkflowExecutionUpdateAccepted': {
        const req = a['acceptedRequest'] as { input?: { name?: string; args?: unknown }; meta?: { updateId?: string; identity?: string } } | undefined;
        const id = String(a['protocolInstanceId'] ?? req?.meta?.updateId ?? e.id);
        const [arg] = decodePayloads(req?.input?.args);
        updates.set(id, { decision: (arg ?? {}) as Loose<RecordedDecision>, ...(req?.meta?.identity ? { via: req.meta.identity } : {}), eventId: e.id, at: e.at });
        if (req?.input?.name !== 'decide') add(e, `update ${req?.input?.name ?? '?'} accepted`, arg);
        break;
      }
      case 'WorkflowExecutionUpdateCompleted': {
        const meta = a['meta'] as { updateId?: string } | undefined;
        const id = String(meta?.updateId ?? a['acceptedEventId'] ?? '');
        const pending = updates.get(id) ?? [...updates.values()].at(-1);
        const outcome = a['outcome'] as { success?: unknown; failure?: unknown } | undefined;
        const rec = (outcome?.success ? firstPayload(outcome.success) : undefined) as Loose<RecordedDecision> | undefined;
        const d = { ...(pending?.decision ?? {}), ...(rec ?? {}) } as Loose<RecordedDecision>;
        if (d.kind === undefined) {
          add(e, `update completed${outcome?.failure ? `: failed: ${failureText(outcome.failure)}` : ''}`, rec);
          break;
        }
        stage = 'checkpoint';
        const accepted = rec?.accepted ?? !outcome?.failure;
        const decision: TimelineDecision = {
          at: String(rec?.at ?? e.at),
          eventId: e.id,
          kind: String(d.kind),
          actor: String(d.actor ?? '?'),
          accepted,
          channel: 'update',
          ...(d.role ? { role: d.role } : {}),
          ...(d.verifiedBy ? { verifiedBy: d.verifiedBy } : {}),
          ...(d.reason ? { reason: d.reason } : {}),
          ...(d.refusal ? { refusal: d.refusal } : {}),
          ...(d.rootCauseService ? { rootCauseService: d.rootCauseService } : {}),
          ...(pending?.via ? { via: pending.via } : {}),
        };
        tl.decisions.push(decision);
        add(e, decisionText(decision), redact(rec ?? d));
        break;
      }
      case 'ActivityTaskScheduled': {
        const type = String((a['activityType'] as { name?: string } | undefined)?.name ?? '?');
        const [arg] = decodePayloads(a['input']);
        const current = stage;
        stage = stageOfActivity(type, stage, arg);
        activities.set(e.id, { type, input: arg, scheduledAt: e.at, stage });
        scheduled(tl, e, type, arg, add, planned);
        // Evidence packets and notifications belong to a stage without moving the incident on.
        if (SIDE_ACTIVITIES.has(type)) stage = current;
        break;
      }
      case 'ActivityTaskCompleted': {
        const p = activities.get(num(a['scheduledEventId']));
        if (!p) break;
        if (!SIDE_ACTIVITIES.has(p.type)) stage = p.stage;
        completed(tl, e, p, firstPayload(a['result']), add);
        if (p.type === 'planRemediation') planned = true;
        break;
      }
      case 'ActivityTaskFailed':
      case 'ActivityTaskTimedOut':
      case 'ActivityTaskCanceled': {
        const p = activities.get(num(a['scheduledEventId']));
        if (!p) break;
        const why = e.type === 'ActivityTaskFailed' ? failureText(a['failure']) : e.type === 'ActivityTaskTimedOut' ? `timed out: ${failureText(a['failure'])}` : 'cancelled';
        if (ANALYSES[p.type]) {
          const source = ANALYSES[p.type] ?? '?';
          tl.evidence.push({ source, status: 'missing', findings: 0, error: why });
        }
        if (p.type === 'executeStep' || p.type === 'compensateStep') {
          const step = (p.input as { step?: Loose<{ id: string; action: string; service: string }> } | undefined)?.step;
          const rec: TimelineAction = { at: e.at, stepId: String(step?.id ?? '?'), action: String(step?.action ?? '?'), service: String(step?.service ?? '?'), phase: p.type === 'executeStep' ? 'do' : 'undo', ok: false, message: why };
          (rec.phase === 'do' ? tl.actions : tl.compensations).push(rec);
          add(e, `${rec.phase === 'do' ? 'step' : 'undo of'} ${rec.stepId} ${rec.action} ${rec.service} FAILED: ${why}`);
        } else add(e, `${p.type} ${e.type === 'ActivityTaskCanceled' ? 'cancelled' : 'failed'}: ${why}`);
        break;
      }
      case 'TimerStarted': {
        const d = durationText(a['startToFireTimeout']);
        const why = stage === 'intake' ? 'group wait' : planned && workflow === 'incident' ? 'waiting for a decision until the escalation deadline' : workflow === 'remediation' ? 'kill switch poll' : 'timer';
        if (planned && workflow === 'incident') stage = 'checkpoint';
        if (planned && workflow === 'incident' && !tl.checkpoint.waitedFrom) {
          tl.checkpoint.waitedFrom = e.at;
          if (tl.checkpoint.required === 'unknown') tl.checkpoint.required = true;
        }
        add(e, `${why}: ${d}`);
        break;
      }
      case 'TimerFired':
        add(e, stage === 'checkpoint' || (planned && workflow === 'incident') ? 'no decision before the deadline' : 'timer fired');
        break;
      case 'TimerCanceled':
        if (planned && workflow === 'incident') tl.checkpoint.waitedUntil = e.at;
        break;
      case 'StartChildWorkflowExecutionInitiated': {
        const type = String((a['workflowType'] as { name?: string } | undefined)?.name ?? '?');
        const id = String(a['workflowId'] ?? '?');
        const arg = firstPayload(a['input']);
        childIds.set(e.id, { workflowId: id, type, input: arg });
        if (type === 'RemediationSagaWorkflow') {
          stage = 'remediation';
          const plan = (arg as { plan?: Loose<RemediationPlan> } | undefined)?.plan;
          add(e, `remediation started (child ${id})${plan ? `: ${planText(plan)}` : ''}`);
          const child = children.get(id);
          if (child) {
            merged.add(id);
            readInto(tl, eventViews(child), 'remediation', startOf(child).input, children, merged);
          }
        } else {
          if (type === 'HypothesisWorkflow') stage = 'hypotheses';
          const svc = (arg as { service?: string } | undefined)?.service;
          add(e, `child ${type} ${id} started${svc ? ` for ${svc}` : ''}`);
        }
        break;
      }
      case 'ChildWorkflowExecutionCompleted': {
        const c = childIds.get(num(a['initiatedEventId']));
        const result = firstPayload(a['result']);
        if (c?.type === 'RemediationSagaWorkflow') {
          const saga = (result ?? {}) as Loose<SagaResult>;
          if (!merged.has(c.workflowId)) {
            for (const r of (saga.actions ?? []) as Loose<ActionRecord>[]) {
              const rec: TimelineAction = { at: String(r.at ?? e.at), stepId: String(r.stepId), action: String(r.action), service: String(r.service), phase: r.phase === 'undo' ? 'undo' : 'do', ok: !!r.ok, ...(r.error ? { message: r.error } : r.result?.message ? { message: r.result.message } : {}) };
              (rec.phase === 'do' ? tl.actions : tl.compensations).push(rec);
              tl.entries.push({ at: rec.at, eventId: e.id, workflow: 'remediation', stage: rec.phase === 'do' ? 'remediation' : 'compensation', what: actionText(rec) });
            }
            if (saga.verification) tl.verification = { recovered: !!saga.verification.recovered, summary: String(saga.verification.summary ?? '') };
          }
          add(e, `remediation finished: ${saga.outcome ?? '?'} — ${saga.summary ?? ''}`, result);
        } else if (c?.type === 'HypothesisWorkflow') {
          const h = (result ?? {}) as Loose<Hypothesis>;
          add(e, `hypothesis ${h.service ?? '?'}: ${h.verdict ?? '?'}`, result);
        } else add(e, `child ${c?.workflowId ?? '?'} completed`, result);
        break;
      }
      case 'ChildWorkflowExecutionFailed':
      case 'ChildWorkflowExecutionCanceled':
      case 'ChildWorkflowExecutionTerminated':
      case 'ChildWorkflowExecutionTimedOut': {
        const c = childIds.get(num(a['initiatedEventId']));
        add(e, `child ${c?.workflowId ?? '?'} ${e.type.replace('ChildWorkflowExecution', '').toLowerCase()}${a['failure'] ? `: ${failureText(a['failure'])}` : ''}`);
        break;
      }
      case 'StartChildWorkflowExecutionFailed':
        add(e, `child ${String(a['workflowId'] ?? '?')} could not start: ${String(a['cause'] ?? '')}`);
        break;
      case 'MarkerRecorded': {
        const name = String(a['markerName'] ?? '?');
        const details = a['details'] as Record<string, unknown> | undefined;
        const patchId = details?.['patch_data'] ?? details?.['patchId'];
        add(e, name === 'core_patch' ? `patch marker ${JSON.stringify(patchId ? decodePayloads(patchId) : '')}` : `marker ${name}`);
        break;
      }
      case 'WorkflowExecutionCompleted': {
        const result = firstPayload(a['result']);
        if (workflow === 'incident') {
          const r = (result ?? {}) as Loose<{ outcome: string; checkpoint: { required: boolean; reasons: string[] } | null; severity: string; report: { markdownPath: string } | null }>;
          tl.status = 'completed';
          tl.closedAt = e.at;
          if (r.outcome) tl.outcome = r.outcome;
          if (r.severity) tl.severity = r.severity;
          if (r.checkpoint) tl.checkpoint = { ...tl.checkpoint, required: !!r.checkpoint.required, reasons: r.checkpoint.reasons ?? [] };
          stage = 'closed';
          add(e, `closed: ${r.outcome ?? 'completed'}`);
        } else {
          const r = (result ?? {}) as Loose<SagaResult>;
          add(e, `remediation saga completed: ${r.outcome ?? '?'}`);
        }
        break;
      }
      case 'WorkflowExecutionFailed':
      case 'WorkflowExecutionTerminated':
      case 'WorkflowExecutionCanceled':
      case 'WorkflowExecutionTimedOut':
      case 'WorkflowExecutionContinuedAsNew': {
        const status = { WorkflowExecutionFailed: 'failed', WorkflowExecutionTerminated: 'terminated', WorkflowExecutionCanceled: 'cancelled', WorkflowExecutionTimedOut: 'timed-out', WorkflowExecutionContinuedAsNew: 'continued-as-new' }[e.type] ?? 'closed';
        if (workflow === 'incident') {
          tl.status = status;
          tl.closedAt = e.at;
        }
        add(e, `workflow ${status}${a['failure'] ? `: ${failureText(a['failure'])}` : a['reason'] ? `: ${String(a['reason'])}` : ''}`);
        break;
      }
      case 'WorkflowTaskFailed':
        add(e, `workflow task failed: ${failureText(a['failure'])}`);
        break;
      default:
        break;
    }
  }

  function start(attrs: Record<string, unknown>): string {
    return String((attrs['workflowType'] as { name?: string } | undefined)?.name ?? 'workflow');
  }
}

function redact(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const { token: _token, ...rest } = v as Record<string, unknown>;
  return rest;
}

function decisionText(d: TimelineDecision): string {
  const who = `${d.actor}${d.role ? ` (${d.role}${d.verifiedBy ? `, ${d.verifiedBy}` : ''})` : ''}`;
  const what = d.kind === 'approve' ? 'approved' : d.kind === 'reject' ? 'rejected' : d.kind === 'override' ? `overrode the root cause to ${d.rootCauseService ?? '?'}` : d.kind === 'takeover' ? 'took over' : d.kind === 'rediagnose' ? 'asked for re-diagnosis' : d.kind;
  return `${d.accepted ? '' : 'REFUSED: '}${who} ${what}${d.reason ? `: ${d.reason}` : ''}${d.refusal ? ` (${d.refusal})` : ''}`;
}

function actionText(r: TimelineAction): string {
  return `${r.phase === 'do' ? 'ran' : 'undid'} ${r.stepId} ${r.action} ${r.service}: ${r.ok ? 'ok' : 'FAILED'}${r.message ? ` — ${r.message}` : ''}`;
}

function stageOfActivity(type: string, current: string, input: unknown): string {
  if (ANALYSES[type]) return 'analysis';
  switch (type) {
    case 'loadIncidentContext':
      return 'intake';
    case 'rankCandidates':
      return 'ranking';
    case 'rerankCandidates':
    case 'investigateHypothesis':
      return 'hypotheses';
    case 'searchHistory':
      return 'history';
    case 'inferRootCause':
      return 'inference';
    case 'planRemediation':
      return 'planning';
    case 'notify':
      return 'checkpoint';
    case 'writeReport':
      return 'report';
    case 'executeStep':
    case 'captureServiceState':
    case 'killSwitchState':
      return 'remediation';
    case 'compensateStep':
      return 'compensation';
    case 'verifyRecovery':
      return 'verification';
    case 'recordEvidence': {
      const kind = (input as { packet?: { kind?: string } } | undefined)?.packet?.kind;
      return kind === 'escalation' || kind === 'checkpoint-decision' || kind === 'decision-refused' ? 'checkpoint' : current;
    }
    default:
      return current;
  }
}

type Add = (e: EventView, what: string, detail?: unknown) => void;

function scheduled(tl: DecisionTimeline, e: EventView, type: string, input: unknown, add: Add, planned: boolean): void {
  if (type === 'recordEvidence') {
    const p = (input as { packet?: Loose<{ kind: string; justification: string; actor: { id?: string; type?: string }; policy: { decidingRule?: string; outcome?: string } }> } | undefined)?.packet;
    if (!p) return;
    if (p.kind === 'checkpoint-decision' && p.actor?.type !== 'person') {
      if (planned) tl.checkpoint.required = false;
      tl.checkpoint.reasons = [];
      add(e, `no checkpoint: ${p.justification ?? ''}${p.policy?.decidingRule ? ` (${p.policy.decidingRule})` : ''}`, p);
    } else if (p.kind === 'escalation') add(e, `escalation: ${p.justification ?? ''}`, p);
    return;
  }
  if (type === 'notify') {
    const n = input as { event?: string; role?: string; text?: string } | undefined;
    if (n?.event === 'approval-requested') tl.checkpoint.required = true;
    add(e, `notify ${n?.role ?? 'subscribers'}: ${n?.event ?? '?'}${n?.text ? ` — ${n.text}` : ''}`);
    return;
  }
  if (type === 'analyzeMetrics') {
    const r = input as { alertedServices?: string[]; incidentStart?: number; baselineStart?: number; end?: number } | undefined;
    if (r?.incidentStart) add(e, `analysing ${r.alertedServices?.join(', ') || 'unlabelled alerts'}: incident from ${new Date(r.incidentStart * 1000).toISOString()}, baseline from ${new Date((r.baselineStart ?? 0) * 1000).toISOString()}`);
    return;
  }
  if (type === 'executeStep' || type === 'compensateStep') return; // shown when they end
  if (type === 'planRemediation') {
    const rc = (input as { rootCause?: { service?: string; indicator?: string } | null } | undefined)?.rootCause;
    add(e, rc ? `planning for ${rc.service ?? '?'}${rc.indicator ? ` [${rc.indicator}]` : ''}` : 'planning: no root cause');
  }
}

function completed(tl: DecisionTimeline, e: EventView, p: Pending, result: unknown, add: Add): void {
  const source = ANALYSES[p.type];
  if (source) {
    const ev = (result ?? {}) as Loose<SourceEvidence>;
    const top = topFinding(ev);
    tl.evidence.push({ source, status: String(ev.status ?? '?'), findings: ev.findings?.length ?? 0, ...(top ? { top } : {}), ...(ev.error ? { error: ev.error } : {}) });
    add(e, `${source}: ${ev.status ?? '?'}, ${ev.findings?.length ?? 0} finding(s)${top ? `; strongest ${top}` : ''}${ev.error ? ` (${ev.error})` : ''}`);
    return;
  }
  switch (p.type) {
    case 'loadIncidentContext': {
      const r = (result ?? {}) as { policy?: { version?: string }; settings?: { groupWaitSeconds?: number } };
      if (r.policy?.version) tl.policyVersion = r.policy.version;
      add(e, `policy ${r.policy?.version ?? '?'} loaded${r.settings?.groupWaitSeconds !== undefined ? `; group wait ${r.settings.groupWaitSeconds}s` : ''}`);
      return;
    }
    case 'rankCandidates':
    case 'rerankCandidates': {
      const cands = (Array.isArray(result) ? result : []) as Loose<Candidate>[];
      tl.ranking = cands.slice(0, 5).map((c) => ({ service: String(c.service), score: Number(c.score ?? 0), ...(c.indicator ? { indicator: c.indicator } : {}) }));
      if (p.type === 'rerankCandidates') {
        const hyps = ((p.input as { hypotheses?: Loose<Hypothesis>[] } | undefined)?.hypotheses ?? []).map((h) => ({ service: String(h.service), verdict: String(h.verdict) }));
        tl.hypotheses = hyps;
      }
      add(e, `${p.type === 'rerankCandidates' ? 're-ranked with the hypotheses' : 'ranked'}: ${rankingText(cands)}`);
      return;
    }
    case 'searchHistory': {
      const h = (result ?? {}) as { similarIncidents?: { id?: string; similarity?: number }[]; runbooks?: { id?: string }[] };
      add(e, `${h.similarIncidents?.length ?? 0} similar incident(s)${h.similarIncidents?.length ? ` (${h.similarIncidents.map((s) => `${s.id} ${pct(s.similarity ?? 0)}`).join(', ')})` : ''}; runbooks: ${h.runbooks?.map((r) => r.id).join(', ') || 'none'}`);
      return;
    }
    case 'inferRootCause': {
      const inf = (result ?? {}) as Loose<Inference>;
      tl.rootCause = inf.rootCause ? { service: inf.rootCause.service, ...(inf.rootCause.indicator ? { indicator: inf.rootCause.indicator } : {}) } : null;
      tl.confidence = Number(inf.confidence ?? 0);
      tl.reasoner = String(inf.reasoner ?? '?');
      add(e, `root cause ${inf.rootCause ? `${inf.rootCause.service}${inf.rootCause.indicator ? ` [${inf.rootCause.indicator}]` : ''}` : 'none'} at ${pct(Number(inf.confidence ?? 0))} (${inf.reasoner ?? '?'}${inf.handOff ? ', handed to a person' : ''})`, { reasoning: inf.reasoning });
      return;
    }
    case 'planRemediation': {
      const plan = (result ?? {}) as Loose<RemediationPlan>;
      tl.plan = { summary: String(plan.summary ?? ''), steps: (plan.steps ?? []).map((s) => ({ id: s.id, action: s.action, service: s.service, risk: s.risk })) };
      tl.checkpoint.required = 'unknown';
      add(e, `plan: ${planText(plan)}`);
      return;
    }
    case 'captureServiceState': {
      const s = (result ?? {}) as { service?: string; release?: string; replicas?: number };
      add(e, `state of ${s.service ?? '?'} recorded for undo: release ${s.release ?? '?'}, ${s.replicas ?? '?'} replica(s)`);
      return;
    }
    case 'killSwitchState': {
      const k = (result ?? {}) as { paused?: boolean; reason?: string };
      if (k.paused) add(e, `held by the kill switch: ${k.reason ?? ''}`);
      return;
    }
    case 'executeStep':
    case 'compensateStep': {
      const step = (p.input as { step?: Loose<{ id: string; action: string; service: string }> } | undefined)?.step;
      const out = (result ?? {}) as { ok?: boolean; message?: string; replayed?: boolean };
      const rec: TimelineAction = { at: e.at, stepId: String(step?.id ?? '?'), action: String(step?.action ?? '?'), service: String(step?.service ?? '?'), phase: p.type === 'executeStep' ? 'do' : 'undo', ok: out.ok !== false, ...(out.message ? { message: `${out.message}${out.replayed ? ' (replayed)' : ''}` } : {}) };
      (rec.phase === 'do' ? tl.actions : tl.compensations).push(rec);
      add(e, actionText(rec));
      return;
    }
    case 'verifyRecovery': {
      const v = (result ?? {}) as Loose<Verification>;
      tl.verification = { recovered: !!v.recovered, summary: String(v.summary ?? '') };
      add(e, `${v.recovered ? 'recovered' : 'NOT recovered'}: ${v.summary ?? ''}`);
      return;
    }
    case 'writeReport': {
      const r = (result ?? {}) as { markdownPath?: string };
      if (r.markdownPath) tl.report = r.markdownPath;
      add(e, `report written${r.markdownPath ? `: ${r.markdownPath}` : ''}`);
      return;
    }
    case 'notify':
    case 'recordEvidence':
      return;
    default:
      add(e, `${p.type} completed`, result);
  }
}

/** The timeline as text for a person: a summary, then every entry with its time and event id. */
export function renderTimeline(tl: DecisionTimeline): string {
  const lines: string[] = [];
  const head = `${tl.workflowType}${tl.workflowId ? ` ${tl.workflowId}` : ''}: ${tl.status}${tl.outcome ? ` (${tl.outcome})` : ''}, started ${tl.startedAt}${tl.closedAt ? `, closed ${tl.closedAt}` : ''}`;
  lines.push(head);
  if (tl.alerts.length) lines.push(`  alerts      ${tl.alerts.map((a) => `${a.name}${a.service ? ` on ${a.service}` : ''} (${a.status})`).join('; ')}${tl.severity ? `, severity ${tl.severity}` : ''}`);
  if (tl.policyVersion) lines.push(`  policy      ${tl.policyVersion}`);
  for (const ev of tl.evidence) lines.push(`  evidence    ${ev.source}: ${ev.status}, ${ev.findings} finding(s)${ev.top ? `; ${ev.top}` : ''}${ev.error ? ` (${ev.error})` : ''}`);
  if (tl.ranking.length) lines.push(`  ranking     ${rankingText(tl.ranking)}`);
  if (tl.hypotheses.length) lines.push(`  hypotheses  ${tl.hypotheses.map((h) => `${h.service} ${h.verdict}`).join(', ')}`);
  if (tl.rootCause !== undefined) lines.push(`  root cause  ${tl.rootCause ? `${tl.rootCause.service}${tl.rootCause.indicator ? ` [${tl.rootCause.indicator}]` : ''}` : 'none'} at ${pct(tl.confidence ?? 0)} (${tl.reasoner ?? '?'})`);
  if (tl.plan) lines.push(`  plan        ${tl.plan.summary}`);
  lines.push(`  checkpoint  ${tl.checkpoint.required === 'unknown' ? 'not reached (or not known)' : tl.checkpoint.required ? `required${tl.checkpoint.reasons.length ? `: ${tl.checkpoint.reasons.join('; ')}` : ''}` : 'not required'}`);
  for (const d of tl.decisions) lines.push(`  decision    ${d.at} ${decisionText(d)}${d.via ? ` [via ${d.via}]` : ''}`);
  for (const r of tl.actions) lines.push(`  ran         ${r.at} ${actionText(r)}`);
  for (const r of tl.compensations) lines.push(`  compensated ${r.at} ${actionText(r)}`);
  if (tl.verification) lines.push(`  verified    ${tl.verification.recovered ? 'recovered' : 'not recovered'}: ${tl.verification.summary}`);
  if (tl.report) lines.push(`  report      ${tl.report}`);
  lines.push('', 'timeline:');
  for (const e of tl.entries) lines.push(`  ${e.at.slice(11, 23)}  #${String(e.eventId).padEnd(4)} ${e.stage.padEnd(12)} ${e.workflow === 'incident' ? '' : `[${e.workflow}] `}${e.what}`);
  return lines.join('\n');
}
