/**
 * AlertGroupWorkflow: one long-lived aggregation per alert group key, reached by ingest
 * with update-with-start (so concurrent webhooks of one group meet in one place) and
 * answering at once which incident each alert went to.
 *
 * Alertmanager semantics: an incident id is assigned when the first new firing alert
 * arrives, the incident workflow is started (a child, ParentClosePolicy ABANDON, with its
 * own group wait 0) when `group_wait` is over; late alerts and resolutions reach it in
 * batches at most every `group_interval`. A queue that reaches MAX_QUEUED_ALERTS goes at
 * once (the incident opens, or its batch is flushed, early), so a storm that pours
 * thousands of alerts into one incident neither waits hours for 200-alert flushes nor
 * outgrows the state a status query answers and continue-as-new carries. Dedup is by
 * alert lifecycle (fingerprint + startsAt): a redelivery changes nothing, even after the
 * incident closed; a later firing of the fingerprint opens a new incident. Inhibition
 * rules, flapping suppression and topology-linked merging (through the correlator
 * workflow) decide before an incident opens. An incident whose pipeline ended says it is closing; the group stops sending it
 * new alerts, hands it at once what it had promised (its flush queue, and for as long as
 * a routing lease may name it, alerts sent under one), then releases it; firing alerts it
 * took after its diagnosis come back with its close and open a follow-up incident. The
 * group hears of closed incidents from the incidents themselves (a signal to their parent
 * id, which survives continue-as-new) and from child results in this run.
 * Long storms continue as new with the (bounded) state carried over.
 *
 * Deterministic orchestration only: settings arrive as data in the input; the correlator
 * and the topology are reached through an activity.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AggregationActivities } from '../src/aggregation/aggregation-activities.js';
import type { CorrelateRequest, CorrelateResponse } from '../src/aggregation/correlation.js';
import { isFlapping, recordTransition } from '../src/aggregation/flapping.js';
import {
  classify,
  currentIncident,
  emptyGroupState,
  eventTimeMs,
  prune,
  type AlertGroupInput,
  type AlertRecord,
  type DeliveryResult,
  type GroupIncident,
  type LeaseClaim,
  type GroupState,
  type Route,
} from '../src/aggregation/group-state.js';
import { compileRules, findInhibitor, isSource, isTarget, labelNamesOf } from '../src/aggregation/matchers.js';
import { sourceChanges } from '../src/aggregation/source-registry.js';
import { LEASE_CLOCK_MARGIN_MS, leaseOf } from '../src/aggregation/routing-lease.js';
import { AggregationSettings as AggregationSettingsSchema, type AggregationSettings } from '../src/aggregation/settings.js';
import { Alert as AlertSchema, AlertBatch as AlertBatchSchema, alertService, alertSeverity, DEFAULT_SEVERITY_MAP, highestSeverity, type Alert, type AlertBatch } from '../src/schemas/alert.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { failureMessage } from './failure-message.js';
// Type only: importing the incident workflow's module would load all of its schemas into every group.
import type { IncidentWorkflow } from './incident-workflow.js';
import {
  alertsSignal,
  deliverAlertsUpdate,
  forwardedAlertsSignal,
  groupStatusQuery,
  incidentClosedSignal,
  incidentClosingSignal,
  incidentReleaseSignal,
  routingLeaseQuery,
  type ForwardedAlerts,
  type DeliveryOptions,
  type IncidentClosed,
  type IncidentClosing,
} from './messages.js';

/**
 * The correlator call: quick, and the group carries on without it if it fails. A regular
 * activity: a local one would hold the group's workflow task open while the correlator
 * (a workflow on the same workers) needs a workflow task slot itself; under load both
 * measured the same here, so the simpler failure mode wins.
 */
const correlation = { startToCloseTimeout: '10s', retry: { initialInterval: '500ms', maximumAttempts: 3 } } as const;
const correlating = proxyActivities<AggregationActivities>(correlation);

/** At most this many alerts go in one start input or signal (payloads stay far under 2 MiB). */
const MAX_ALERTS_PER_MESSAGE = 200;
/**
 * An incident's queue (alerts waiting for group_wait or group_interval) this long is handed
 * over at once, in messages of MAX_ALERTS_PER_MESSAGE: the group state, which its status
 * query answers and continue-as-new carries, keeps at most this many whole alerts per
 * incident (~0.5 MB at a storm's label sets) instead of every alert of a storm.
 */
const MAX_QUEUED_ALERTS = 1000;
/** Groups running since before MAX_QUEUED_ALERTS flushed 200 alerts per group_interval and opened incidents only after group_wait; they replay that way. */
const BOUNDED_QUEUE_PATCH = 'bounded-incident-queue';
/** Delivery ids remembered for the fast duplicate path. */
const KEEP_DELIVERY_IDS = 256;
/** Settings changes remembered in the group's records. */
const KEEP_SETTINGS_CHANGES = 10;
/** After a sender last used or asked for the routing lease, the group keeps its lease data this long. */
const LEASE_INTEREST_MS = 10 * 60 * 1000;
/**
 * Groups running since before ingest read the inhibition view from the correlator asked
 * the correlator about every target, and for the view while leasing; they replay that way.
 */
const AUDIT_LEASED_TARGETS_PATCH = 'audit-leased-targets';
/** Those groups renewed their view (state.inhibitors) past half its old lifetime. */
const LEGACY_VIEW_REFRESH_MS = 15_000;
/** A target a lease sent to the incident is checked against other groups' sources at the group's next correlator call, or this long after it came. */
const AUDIT_DELAY_MS = 5_000;
/** After a correlator call with audits failed, the next audit-only call waits this long. */
const AUDIT_RETRY_MS = 30_000;
/** Pending audits beyond this go to the correlator with the batch that adds them. */
const MAX_PENDING_AUDITS = 200;
/** The longest a closing incident waits for its group beyond the routing lease (then it closes anyway). */
const CLOSE_HOLD_SLACK_SECONDS = 120;

function issuesText(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).slice(0, 5).join('; ');
}

export async function AlertGroupWorkflow(input: AlertGroupInput): Promise<GroupState> {
  const { groupId } = input;
  const state: GroupState = input.state ?? emptyGroupState();
  // A sender may hand over newer settings (a changed vigil.yaml): they apply from its delivery on.
  let settings = input.settings;
  let rules = compileRules(settings.inhibitRules);
  let severityMap = { ...DEFAULT_SEVERITY_MAP, ...settings.severityMap };
  let handledThisRun = 0;
  let wake = false;
  let lastActivityMs = Date.now();
  /** Workflow time before which no audit-only correlator call is made (one failed). */
  let auditsRetryAtMs = 0;

  /** Every change to the state runs here, one at a time (handlers may wait on activities). */
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  // ---- handlers first ----
  setHandler(groupStatusQuery, () => ({ groupKey: input.groupKey, groupId, settings, state }));
  setHandler(routingLeaseQuery, () => leaseOf(state, Date.now()));
  setHandler(
    deliverAlertsUpdate,
    (batch: AlertBatch, options?: DeliveryOptions) =>
      serial(() => {
        if (options?.settings) adopt(AggregationSettingsSchema.parse(options.settings));
        if (options?.lease) state.leaseAskedMs = Date.now();
        return deliver(batch);
      }),
    {
      validator: (batch: AlertBatch, options?: DeliveryOptions) => {
        const parsed = AlertBatchSchema.safeParse(batch);
        if (!parsed.success) throw new Error(`malformed alert batch: ${issuesText(parsed.error.issues)}`);
        if (parsed.data.groupKey !== input.groupKey) throw new Error(`batch of group ${JSON.stringify(parsed.data.groupKey)} sent to the group of ${JSON.stringify(input.groupKey)}`);
        if (options?.settings !== undefined) {
          const offered = AggregationSettingsSchema.safeParse(options.settings);
          if (!offered.success) throw new Error(`malformed aggregation settings: ${issuesText(offered.error.issues)}`);
        }
      },
    },
  );
  // Fire-and-forget senders: the same path, no answer (malformed batches are logged and dropped).
  setHandler(alertsSignal, async (batch: AlertBatch) => {
    const parsed = AlertBatchSchema.safeParse(batch);
    if (!parsed.success || parsed.data.groupKey !== input.groupKey) {
      log.warn('malformed alert batch signal dropped', { groupId });
      return;
    }
    await serial(() => deliver(parsed.data));
  });
  setHandler(forwardedAlertsSignal, async (f: ForwardedAlerts) => {
    await serial(() => takeForwarded(f));
  });
  setHandler(incidentClosedSignal, async (c: IncidentClosed) => {
    await serial(() => closed(c));
  });
  setHandler(incidentClosingSignal, async (c: IncidentClosing) => {
    await serial(() => closing(c));
  });

  // ---- main loop: open incidents after group_wait, flush per group_interval ----
  for (;;) {
    const deadline = nextDeadline();
    const timeout = deadline === undefined ? settings.idleCloseSeconds * 1000 : Math.max(1, deadline - Date.now());
    await condition(() => wake || shouldContinueAsNew(), timeout);
    wake = false;
    await serial(tick);
    if (shouldContinueAsNew()) {
      await condition(allHandlersFinished);
      prune(state, Date.now(), settings);
      state.counters.continuedAsNew++;
      await continueAsNew<typeof AlertGroupWorkflow>({ ...input, settings, state });
    }
    if (idle()) {
      await condition(allHandlersFinished);
      if (idle()) return state;
    }
  }

  // ---------------------------------------------------------------------------

  function shouldContinueAsNew(): boolean {
    return handledThisRun >= settings.maxEventsBeforeContinueAsNew || workflowInfo().continueAsNewSuggested;
  }

  function idle(): boolean {
    return (
      state.incidents.every((i) => i.state === 'closed') &&
      Object.keys(state.alerts).length === 0 &&
      state.closedToReport.length === 0 &&
      !state.audits?.length &&
      Date.now() - lastActivityMs >= settings.idleCloseSeconds * 1000
    );
  }

  function nextDeadline(): number | undefined {
    let next: number | undefined;
    const consider = (t: number) => {
      if (next === undefined || t < next) next = t;
    };
    for (const inc of state.incidents) {
      if (inc.state === 'pending') consider(inc.openAtMs ?? 0);
      else if (inc.state === 'open' && inc.queue.length > 0) consider((inc.lastFlushMs ?? 0) + settings.groupIntervalSeconds * 1000);
      else if (inc.state === 'closing' && inc.ownerGroup === groupId && inc.releasedMs === undefined && (inc.queue.length > 0 || !inc.unheard?.length)) consider(inc.queue.length > 0 ? 0 : (inc.releaseAtMs ?? 0));
      else if (inc.state === 'closing' && inc.ownerGroup !== groupId && inc.ackAtMs !== undefined) consider(inc.ackAtMs);
    }
    if (state.closedToReport.length > 0) consider(Date.now());
    const oldestAudit = state.audits?.[0];
    if (oldestAudit) consider(Math.max(oldestAudit.atMs + AUDIT_DELAY_MS, auditsRetryAtMs));
    return next;
  }

  async function tick(): Promise<void> {
    const now = Date.now();
    for (const inc of [...state.incidents]) {
      if (inc.state === 'pending' && ((inc.openAtMs ?? 0) <= now || queueFull(inc))) await startIncident(inc);
      else if (inc.state === 'open' && inc.queue.length > 0 && ((inc.lastFlushMs ?? 0) + settings.groupIntervalSeconds * 1000 <= now || queueFull(inc))) await flush(inc);
      else if (inc.state === 'closing' && inc.ownerGroup === groupId && inc.releasedMs === undefined) await handOverClosing(inc, now);
      else if (inc.state === 'closing' && inc.ownerGroup !== groupId && inc.ackAtMs !== undefined && inc.ackAtMs <= now) {
        inc.ackAtMs = undefined;
        await tellClosing(inc.ownerGroup, inc.id, { heardBy: groupId });
      }
    }
    const auditsDue = (state.audits?.[0]?.atMs ?? Infinity) + AUDIT_DELAY_MS <= now && auditsRetryAtMs <= now;
    if (state.closedToReport.length > 0 || auditsDue) await askCorrelator({ group: groupId, rules: settings.inhibitRules, addSources: [], removeSources: [], targets: [] });
    prune(state, now, settings);
  }

  // ---- settings ----

  /** Takes settings a sender offers when they differ from the group's; recorded with the keys that changed. */
  function adopt(next: AggregationSettings): void {
    const changed = (Object.keys(next) as (keyof AggregationSettings)[]).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(settings[k]));
    if (changed.length === 0) return;
    settings = next;
    rules = compileRules(settings.inhibitRules);
    severityMap = { ...DEFAULT_SEVERITY_MAP, ...settings.severityMap };
    state.settingsChanges = [...(state.settingsChanges ?? []), { atMs: Date.now(), changed }].slice(-KEEP_SETTINGS_CHANGES);
    log.info('alert group adopted new aggregation settings', { groupId, changed });
  }

  // ---- deliveries ----

  async function deliver(batch: AlertBatch): Promise<DeliveryResult> {
    handledThisRun++;
    state.counters.deliveries++;
    const now = Date.now();
    lastActivityMs = now;
    const alerts = batch.alerts.map((a) => AlertSchema.parse(a));
    if (state.deliveries.includes(batch.deliveryId)) {
      state.counters.duplicates += alerts.length;
      return result(alerts, new Map(alerts.map((a) => [a.fingerprint, dup(a)])));
    }
    state.deliveries.push(batch.deliveryId);
    if (state.deliveries.length > KEEP_DELIVERY_IDS) state.deliveries.splice(0, state.deliveries.length - KEEP_DELIVERY_IDS);

    const routes = new Map<string, Route>();
    const fresh: Alert[] = [];
    const resolvedSources: Alert[] = [];
    const resolutions = new Map<string, Alert[]>();
    for (const a of alerts) {
      state.counters.alerts++;
      const rec = state.alerts[a.fingerprint];
      const kind = classify(rec, a);
      if (rec && (kind === 'duplicate' || kind === 'stale')) {
        rec.seenMs = now;
        state.counters.duplicates++;
        routes.set(a.fingerprint, dup(a));
        continue;
      }
      if (rec && kind === 'resolution') {
        rec.status = 'resolved';
        rec.seenMs = now;
        rec.transitions = recordTransition(rec.transitions, eventTimeMs(a, now), settings.flapping);
        if (rules.length > 0 && isSource(rules, a)) resolvedSources.push(a);
        if (rec.incidentId) resolutions.set(rec.incidentId, [...(resolutions.get(rec.incidentId) ?? []), a]);
        routes.set(a.fingerprint, { fingerprint: a.fingerprint, incidentId: rec.incidentId, disposition: 'resolved' });
        continue;
      }
      // A new lifecycle of the fingerprint (or a fingerprint never seen).
      const transitions = recordTransition(rec?.transitions ?? [], eventTimeMs(a, now), settings.flapping);
      // Labels are kept only where inhibition needs them (possible sources): the state stays small.
      const labels = rules.length > 0 && isSource(rules, a) ? a.labels : {};
      state.alerts[a.fingerprint] = { fingerprint: a.fingerprint, startsAt: a.startsAt, status: a.status, labels, incidentId: null, transitions, seenMs: now };
      if (a.status === 'resolved') {
        routes.set(a.fingerprint, { fingerprint: a.fingerprint, incidentId: null, disposition: 'recorded' });
        continue;
      }
      fresh.push(a);
    }
    if (fresh.length > 0 || resolvedSources.length > 0) await route(fresh, resolvedSources, routes, now, { promised: promisedTo(batch), lease: leaseClaim(batch) });
    for (const [incidentId, list] of resolutions) await attach(incidentId, list);
    const answer = result(alerts, routes);
    if (batch.promisedIncidentId || batch.promisedSuppressed) {
      state.leaseAskedMs = now;
      recordBrokenPromises(batch.promisedIncidentId ?? null, new Set(batch.promisedSuppressed ?? []), answer.routes);
    }
    return answer;
  }

  /**
   * A closing incident a sender's routing lease named for this batch, while the group still
   * holds it for such batches: its alerts go there (the lease settled only firing alerts of
   * no exception, so all of them were promised to it, bar the inhibited ones).
   */
  function promisedTo(batch: AlertBatch): GroupIncident | undefined {
    if (!batch.promisedIncidentId) return undefined;
    const inc = liveIncident(batch.promisedIncidentId);
    return inc?.state === 'closing' && inc.releasedMs === undefined ? inc : undefined;
  }

  /** What a sender's routing lease told it of this batch: the incident, and the alerts it read as inhibited. */
  function leaseClaim(batch: AlertBatch): LeaseClaim | undefined {
    if (!batch.promisedIncidentId) return undefined;
    return { incidentId: batch.promisedIncidentId, suppressed: new Set(batch.promisedSuppressed ?? []) };
  }

  /** Whether a sender has used this group's routing lease lately (only then does the group keep lease data and hold closing incidents for it). */
  function leasing(): boolean {
    return state.leaseAskedMs !== undefined && Date.now() - state.leaseAskedMs < LEASE_INTEREST_MS;
  }

  /** Records the alerts that did not go where ingest's 202 said under the lease (it changed before the group took them). */
  function recordBrokenPromises(incidentId: string | null, suppressed: ReadonlySet<string>, routes: Route[]): void {
    const broken = routes.filter((r) => r.incidentId !== (suppressed.has(r.fingerprint) ? null : incidentId));
    if (broken.length === 0) return;
    state.counters.promisesBroken = (state.counters.promisesBroken ?? 0) + broken.length;
    for (const r of broken) {
      const rec = state.alerts[r.fingerprint];
      if (rec) rec.promised = suppressed.has(r.fingerprint) || !incidentId ? 'suppressed' : incidentId;
    }
    log.warn('alerts did not go where ingest said under the routing lease', { groupId, incidentId, went: unique(broken.map((r) => r.incidentId ?? 'suppressed')), alerts: broken.length });
  }

  function dup(a: Alert): Route {
    const rec = state.alerts[a.fingerprint];
    return {
      fingerprint: a.fingerprint,
      incidentId: rec?.incidentId ?? null,
      disposition: 'duplicate',
      ...(rec?.suppressed ? { reason: `${rec.suppressed.reason}: ${rec.suppressed.detail}` } : {}),
    };
  }

  function result(alerts: Alert[], routes: Map<string, Route>): DeliveryResult {
    const seen = new Set<string>();
    const out: Route[] = [];
    for (const a of alerts) {
      if (seen.has(a.fingerprint)) continue;
      seen.add(a.fingerprint);
      out.push(routes.get(a.fingerprint) ?? dup(a));
    }
    // Only for a sender that uses leases: it costs a pass over the group's records.
    const lease = leasing() ? leaseOf(state, Date.now()) : undefined;
    return { groupId, routes: out, ...(lease ? { lease } : {}) };
  }

  function suppress(a: Alert, reason: 'inhibited' | 'flapping', detail: string, routes: Map<string, Route>, now: number): void {
    const rec = state.alerts[a.fingerprint];
    if (rec) {
      rec.suppressed = { reason, detail };
      rec.incidentId = null;
    }
    state.suppressions.push({ fingerprint: a.fingerprint, startsAt: a.startsAt, reason, detail, atMs: now });
    state.counters[reason]++;
    routes.set(a.fingerprint, { fingerprint: a.fingerprint, incidentId: null, disposition: reason, reason: detail });
  }

  /**
   * New firing alerts: flapping, inhibition, then the current incident, a linked one, or a
   * new one. `promised`: a closing incident a lease named, which takes them instead of the
   * current one. `lease`: what the sender's 202 said; an alert it sent to the incident they
   * go to now is kept there even if an inhibiting alert began firing since (the race a
   * lease cannot see): its record says what would have muted it.
   */
  async function route(fresh: Alert[], resolvedSources: Alert[], routes: Map<string, Route>, now: number, opts: { promised?: GroupIncident | undefined; lease?: LeaseClaim | undefined; followUpOf?: string } = {}): Promise<void> {
    const current = opts.promised ?? currentIncident(state);
    const lease = opts.lease;
    const kept = (a: Alert): boolean => !!current && lease?.incidentId === current.id && !lease.suppressed.has(a.fingerprint);
    /** Suppresses an inhibited alert, unless the lease's 202 sent it to the incident it goes to: then it is kept there, recorded. */
    const inhibit = (a: Alert, detail: string, into: Alert[]): void => {
      if (!kept(a)) {
        suppress(a, 'inhibited', detail, routes, now);
        return;
      }
      const rec = state.alerts[a.fingerprint];
      if (rec) rec.inhibitedAfterPromise = detail;
      state.counters.keptOverInhibition = (state.counters.keptOverInhibition ?? 0) + 1;
      into.push(a);
    };
    const candidates: Alert[] = [];
    for (const a of fresh) {
      const rec = state.alerts[a.fingerprint];
      if (!current && rec && isFlapping(rec.transitions, eventTimeMs(a, now), settings.flapping)) {
        suppress(a, 'flapping', `${rec.transitions.length} state changes within ${settings.flapping.windowSeconds}s (more than ${settings.flapping.threshold}): no new incident until it settles`, routes, now);
        continue;
      }
      candidates.push(a);
    }

    let remaining = candidates;
    const localSources = rules.length > 0 ? Object.values(state.alerts).filter((r: AlertRecord) => r.status === 'firing' && Object.keys(r.labels).length > 0 && isSource(rules, r)) : [];
    if (rules.length > 0) {
      remaining = [];
      for (const a of candidates) {
        const hit = findInhibitor(rules, a, localSources);
        if (hit) inhibit(a, `${hit.rule} (source ${hit.sourceFingerprint})`, remaining);
        else remaining.push(a);
      }
    }

    // The correlator hears of a new source only when no firing source like it is registered (source-registry.ts).
    const sources = rules.length > 0 ? sourceChanges(rules, (state.registeredSources ??= {}), fresh.filter((a) => isSource(rules, a)), resolvedSources, localSources) : { add: [], remove: [] };
    const targets = rules.length > 0 ? remaining.filter((a) => isTarget(rules, a)) : [];
    // A target the lease's 202 sent to the incident goes there whatever other groups' sources
    // say: it is checked against them later, for the record, with the group's next correlator call.
    const audit = patched(AUDIT_LEASED_TARGETS_PATCH);
    const audited = audit ? targets.filter(kept) : [];
    if (audited.length > 0) queueAudits(audited, now);
    const asked = audit ? targets.filter((a) => !kept(a)) : targets;
    const legacyView = !audit && rules.length > 0 && leasing() && (!state.inhibitors || now - state.inhibitors.atMs > LEGACY_VIEW_REFRESH_MS);
    const wantsCandidate = !current && remaining.length > 0 && settings.topologyMergeWindowSeconds > 0;
    const nextId = `${input.incidentPrefix}-${state.seq + 1}`;
    let answer: CorrelateResponse | undefined;
    if (sources.add.length > 0 || sources.remove.length > 0 || asked.length > 0 || wantsCandidate || legacyView || (state.audits?.length ?? 0) >= MAX_PENDING_AUDITS) {
      answer = await askCorrelator({
        group: groupId,
        rules: settings.inhibitRules,
        addSources: sources.add.map((a) => ({ fingerprint: a.fingerprint, labels: a.labels })),
        removeSources: sources.remove,
        targets: asked.map((a) => ({ fingerprint: a.fingerprint, labels: a.labels })),
        ...(wantsCandidate
          ? {
              candidate: {
                incidentId: nextId,
                services: unique(remaining.map((a) => alertService(a)).filter((s): s is string => !!s)),
                links: [],
                atMs: Math.min(...remaining.map((a) => eventTimeMs(a, now))),
                windowSeconds: settings.topologyMergeWindowSeconds,
                fingerprints: remaining.map((a) => a.fingerprint),
              },
            }
          : {}),
      });
    }
    const final: Alert[] = [];
    for (const a of remaining) {
      const hit = answer?.inhibited[a.fingerprint];
      if (hit) inhibit(a, `${hit.rule} (source ${hit.sourceFingerprint}${hit.sourceGroup ? ` in ${hit.sourceGroup}` : ''})`, final);
      else final.push(a);
    }
    if (final.length === 0) return;

    if (current) {
      await join(current, final, routes);
      return;
    }
    const linked = answer?.incident;
    // Never link again to an incident this group knows is closing or closed (the correlator may not have heard yet).
    if (linked && linked.ownerGroup !== groupId && !state.incidents.some((i) => i.id === linked.incidentId && (i.state === 'closed' || i.state === 'closing'))) {
      const inc: GroupIncident = {
        id: linked.incidentId,
        state: 'linked',
        ownerGroup: linked.ownerGroup,
        severity: severityOf(final),
        fingerprints: [],
        queue: [],
        notes: [],
        merges: [{ rule: linked.mergeRule ?? 'linked', fromGroup: groupId, fingerprints: final.map((a) => a.fingerprint), atMs: now }],
        linkedGroups: [],
      };
      state.incidents.push(inc);
      state.counters.merged += final.length;
      await join(inc, final, routes);
      return;
    }
    state.seq++;
    const inc: GroupIncident = {
      id: `${input.incidentPrefix}-${state.seq}`,
      state: 'pending',
      ownerGroup: groupId,
      severity: severityOf(final),
      fingerprints: [],
      openAtMs: now + settings.groupWaitSeconds * 1000,
      queue: [],
      notes: [],
      merges: [],
      linkedGroups: [],
    };
    if (opts.followUpOf) inc.notes.push(`follow-up of ${opts.followUpOf}: ${final.length} alert(s) reached it after its diagnosis and still fire`);
    state.incidents.push(inc);
    state.counters.incidentsOpened++;
    await join(inc, final, routes, 'opened');
    // group_wait 0: the incident exists before the sender hears its id.
    if (settings.groupWaitSeconds === 0) await startIncident(inc);
    wake = true;
  }

  /** Adds alerts to one of this group's current incidents (or forwards them to the owner of a linked one). */
  async function join(inc: GroupIncident, alerts: Alert[], routes: Map<string, Route>, disposition: 'opened' | 'joined' = 'joined'): Promise<void> {
    for (const a of alerts) {
      const rec = state.alerts[a.fingerprint];
      if (rec) rec.incidentId = inc.id;
      if (!inc.fingerprints.includes(a.fingerprint)) inc.fingerprints.push(a.fingerprint);
      const merge = inc.ownerGroup !== groupId ? inc.merges[0]?.rule : undefined;
      routes.set(a.fingerprint, { fingerprint: a.fingerprint, incidentId: inc.id, disposition: merge ? 'merged' : disposition, ...(merge ? { reason: merge } : {}) });
    }
    inc.severity = highestSeverity([inc.severity, severityOf(alerts)]);
    if (inc.ownerGroup !== groupId) {
      const ok = await forward(inc, alerts);
      if (!ok) {
        // The owner is gone: route them again (they open an incident here).
        for (const a of alerts) {
          const rec = state.alerts[a.fingerprint];
          if (rec) rec.incidentId = null;
        }
        const firing = alerts.filter((a) => a.status === 'firing');
        if (firing.length > 0) await route(firing, [], routes, Date.now());
      }
      return;
    }
    enqueue(inc, alerts);
  }

  /** A queue that must go now, whatever group_wait or group_interval says (see MAX_QUEUED_ALERTS). */
  function queueFull(inc: GroupIncident): boolean {
    return inc.queue.length >= MAX_QUEUED_ALERTS && patched(BOUNDED_QUEUE_PATCH);
  }

  function enqueue(inc: GroupIncident, alerts: Alert[]): void {
    for (const a of alerts) {
      const i = inc.queue.findIndex((q) => q.fingerprint === a.fingerprint);
      if (i >= 0) inc.queue[i] = a;
      else inc.queue.push(a);
    }
    wake = true;
  }

  /** Resolutions of alerts already routed: recorded in their incident. */
  async function attach(incidentId: string, alerts: Alert[]): Promise<void> {
    const inc = liveIncident(incidentId);
    if (!inc) return;
    if (inc.ownerGroup !== groupId) await forward(inc, alerts);
    else enqueue(inc, alerts);
  }

  async function forward(inc: GroupIncident, alerts: Alert[]): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(inc.ownerGroup).signal(forwardedAlertsSignal, {
        incidentId: inc.id,
        fromGroup: groupId,
        alerts,
        rule: inc.merges[0]?.rule ?? 'linked',
      });
      return true;
    } catch (err) {
      log.warn('the group owning a linked incident is unreachable', { groupId, incidentId: inc.id, error: failureMessage(err) });
      inc.state = 'closed';
      inc.outcome = `owner ${inc.ownerGroup} unreachable`;
      inc.closedMs = Date.now();
      state.closedToReport.push(inc.id);
      return false;
    }
  }

  /** Another group's alerts joining an incident this group owns. */
  async function takeForwarded(f: ForwardedAlerts): Promise<void> {
    lastActivityMs = Date.now();
    const inc = state.incidents.find((i) => i.id === f.incidentId && i.ownerGroup === groupId && i.state !== 'closed');
    // Released: it no longer takes alerts (the sender routes them again).
    if (!inc || inc.state === 'linked' || inc.releasedMs !== undefined) {
      await tell(f.fromGroup, { incidentId: f.incidentId, outcome: inc?.outcome ?? 'closed', bounced: f.alerts });
      return;
    }
    const added = f.alerts.filter((a) => !inc.fingerprints.includes(a.fingerprint)).map((a) => a.fingerprint);
    if (added.length > 0) {
      inc.fingerprints.push(...added);
      inc.merges.push({ rule: f.rule, fromGroup: f.fromGroup, fingerprints: added, atMs: Date.now() });
      inc.notes.push(`merged ${added.length} alert(s) from ${f.fromGroup} (${unique(f.alerts.map((a) => a.labels['alertname'] ?? 'alert')).join(', ')}): ${f.rule}`);
      state.counters.merged += added.length;
    }
    if (!inc.linkedGroups.includes(f.fromGroup)) inc.linkedGroups.push(f.fromGroup);
    // In place: a copy per forward grew quadratic with a storm's merged alerts.
    const foreign = (inc.foreign ??= {});
    for (const a of f.alerts) foreign[a.fingerprint] = f.fromGroup;
    inc.severity = highestSeverity([inc.severity, severityOf(f.alerts)]);
    enqueue(inc, f.alerts);
  }

  async function closed(c: IncidentClosed): Promise<void> {
    const inc = liveIncident(c.incidentId);
    if (inc) await markClosed(inc, c.outcome);
    if (c.bounced && c.bounced.length > 0) {
      const again: Alert[] = [];
      for (const a of c.bounced) {
        const rec = state.alerts[a.fingerprint];
        if (!rec || rec.startsAt !== a.startsAt || rec.incidentId !== c.incidentId) continue;
        rec.incidentId = null;
        if (rec.status === 'firing') again.push({ ...a, status: 'firing' });
      }
      if (again.length > 0) await route(again, [], new Map(), Date.now());
    }
    if (c.followUp && c.followUp.length > 0) await followUp(c.incidentId, c.followUp);
  }

  /**
   * Firing alerts that reached an incident after its diagnosis, handed back as it closed:
   * this group's own are routed again (a follow-up incident, or the current one), other
   * groups' go back to them.
   */
  async function followUp(incidentId: string, alerts: Alert[]): Promise<void> {
    const inc = state.incidents.find((i) => i.id === incidentId && i.ownerGroup === groupId);
    const again: Alert[] = [];
    const foreign = new Map<string, Alert[]>();
    for (const a of alerts) {
      const origin = inc?.foreign?.[a.fingerprint];
      if (origin && origin !== groupId) {
        foreign.set(origin, [...(foreign.get(origin) ?? []), a]);
        continue;
      }
      const rec = state.alerts[a.fingerprint];
      if (!rec || rec.startsAt !== a.startsAt || rec.incidentId !== incidentId || rec.status !== 'firing') continue;
      rec.incidentId = null;
      again.push({ ...a, status: 'firing' });
    }
    for (const [group, bounced] of foreign) await tell(group, { incidentId, outcome: inc?.outcome ?? 'closed', bounced });
    if (again.length === 0) return;
    state.counters.followUps = (state.counters.followUps ?? 0) + again.length;
    await route(again, [], new Map(), Date.now(), { followUpOf: incidentId });
  }

  /**
   * An incident says its pipeline ended. Its owner hands it what was promised, then
   * releases it; a group whose alerts joined it (linked) hears it from the owner and stops
   * naming it, while still passing on alerts its leases promised there.
   */
  async function closing(c: IncidentClosing): Promise<void> {
    const inc = state.incidents.find((i) => i.id === c.incidentId && (i.state === 'open' || i.state === 'linked' || i.state === 'closing'));
    if (c.heardBy) {
      // A linked group has heard: it names the incident in no lease from now on.
      if (inc?.ownerGroup === groupId && inc.state === 'closing') heard(inc, c.heardBy);
      return;
    }
    if (c.owner) {
      // From the owner: this group's leases stop naming it now. Once those given before have
      // run out, and so every batch sent under them is in this group's history and passed
      // on, it says so (at once when it does not hold the incident, or gives no leases).
      if (inc?.state === 'linked') {
        const now = Date.now();
        inc.state = 'closing';
        inc.closingMs = now;
        inc.ackAtMs = settings.routingLeaseSeconds > 0 && leasing() ? now + settings.routingLeaseSeconds * 1000 + LEASE_CLOCK_MARGIN_MS : now;
        wake = true;
      } else await tellClosing(c.owner, c.incidentId, { heardBy: groupId });
      return;
    }
    if (inc?.state === 'closing') return;
    if (!inc || inc.ownerGroup !== groupId) {
      // Not (or no longer) open here: nothing is held for it.
      await release(c.incidentId);
      return;
    }
    const now = Date.now();
    inc.state = 'closing';
    inc.closingMs = now;
    inc.handedAtClose = inc.queue.length;
    // Leases naming it were given before now (none is from here on), so they run out within
    // routingLeaseSeconds: while senders use this group's leases, it is held that long. A
    // linked group passes on what its leases promised here, and then says so: held until then.
    inc.releaseAtMs = settings.routingLeaseSeconds > 0 && leasing() ? now + settings.routingLeaseSeconds * 1000 + LEASE_CLOCK_MARGIN_MS : now;
    inc.unheard = settings.routingLeaseSeconds > 0 ? [...inc.linkedGroups] : [];
    for (const g of inc.linkedGroups) {
      if (!(await tellClosing(g, inc.id, { owner: groupId }))) heard(inc, g);
    }
    wake = true;
  }

  function heard(inc: GroupIncident, group: string): void {
    if (!inc.unheard?.includes(group)) return;
    inc.unheard = inc.unheard.filter((g) => g !== group);
    wake = true;
  }

  async function tellClosing(group: string, incidentId: string, from: { owner: string } | { heardBy: string }): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(group).signal(incidentClosingSignal, { incidentId, ...from });
      return true;
    } catch (err) {
      log.warn('could not tell a group an incident is closing', { groupId, group, incidentId, error: failureMessage(err) });
      return false;
    }
  }

  /** A closing incident: its queue goes at once; once nothing more can be promised to it, it is released. */
  async function handOverClosing(inc: GroupIncident, now: number): Promise<void> {
    if (inc.queue.length > 0) {
      await flush(inc);
      if (inc.state !== 'closing' || inc.queue.length > 0) return;
    }
    if ((inc.releaseAtMs ?? 0) > now || (inc.unheard?.length ?? 0) > 0) return;
    inc.releasedMs = now;
    const heldMs = now - (inc.closingMs ?? now);
    const parts = [
      ...(inc.handedAtClose ? [`${inc.handedAtClose} alert(s) the group had queued for it handed over`] : []),
      ...(heldForLeases(inc) && heldMs >= 1000 ? [`held ${Math.round(heldMs / 1000)}s while senders' routing leases could still name it`] : []),
    ];
    const ok = await release(inc.id, parts.join('; ') || undefined);
    if (!ok) await markClosed(inc, 'closed');
  }

  /** Whether a closing incident waited for routing leases: this group's, or its linked groups'. */
  function heldForLeases(inc: GroupIncident): boolean {
    return (inc.releaseAtMs ?? 0) > (inc.closingMs ?? 0) || (settings.routingLeaseSeconds > 0 && inc.linkedGroups.length > 0);
  }

  async function release(incidentId: string, held?: string): Promise<boolean> {
    try {
      await getExternalWorkflowHandle(incidentId).signal(incidentReleaseSignal, { incidentId, ...(held ? { held } : {}) });
      return true;
    } catch (err) {
      log.info('closing incident gone before its release', { groupId, incidentId, error: failureMessage(err) });
      return false;
    }
  }

  async function markClosed(inc: GroupIncident, outcome: string): Promise<void> {
    const wasOpen = inc.state === 'open' || inc.state === 'closing';
    inc.state = 'closed';
    inc.outcome = outcome;
    inc.closedMs = Date.now();
    if (inc.ownerGroup !== groupId) return;
    state.closedToReport.push(inc.id);
    for (const g of inc.linkedGroups) await tell(g, { incidentId: inc.id, outcome });
    // Alerts queued for an incident that closed before the next flush never reached it: they open the next one.
    const orphans = wasOpen ? inc.queue.filter((a) => a.status === 'firing' && state.alerts[a.fingerprint]?.incidentId === inc.id && state.alerts[a.fingerprint]?.startsAt === a.startsAt) : [];
    // Their senders were told this incident: the same broken promise as a lease's.
    for (const a of orphans) {
      const rec = state.alerts[a.fingerprint];
      if (rec) {
        rec.incidentId = null;
        rec.promised = inc.id;
      }
    }
    if (orphans.length > 0) state.counters.promisesBroken = (state.counters.promisesBroken ?? 0) + orphans.length;
    // Other groups' alerts go back to them (they route them again).
    const foreign = new Map<string, Alert[]>();
    for (const a of wasOpen ? inc.queue : []) {
      const origin = inc.foreign?.[a.fingerprint];
      if (origin) foreign.set(origin, [...(foreign.get(origin) ?? []), a]);
    }
    inc.queue = [];
    for (const [group, bounced] of foreign) await tell(group, { incidentId: inc.id, outcome, bounced });
    if (orphans.length > 0) await route(orphans, [], new Map(), Date.now());
    wake = true;
  }

  async function tell(group: string, c: IncidentClosed): Promise<void> {
    try {
      await getExternalWorkflowHandle(group).signal(incidentClosedSignal, c);
    } catch (err) {
      log.warn('could not tell a group about a closed incident', { groupId, group, incidentId: c.incidentId, error: failureMessage(err) });
    }
  }

  /** Targets a lease sent to the incident, to be checked against other groups' sources (only the labels the rules read are kept). */
  function queueAudits(alerts: Alert[], now: number): void {
    const read = labelNamesOf(rules);
    const audits = (state.audits ??= []);
    for (const a of alerts) audits.push({ fingerprint: a.fingerprint, labels: Object.fromEntries(Object.entries(a.labels).filter(([k]) => read.has(k))), atMs: now });
    // Without a correlator for a long time: the oldest go unchecked (they went where the 202 said either way).
    if (audits.length > 2 * MAX_PENDING_AUDITS) {
      log.warn('targets sent under a routing lease left unchecked against other groups (the correlator has not answered)', { groupId, alerts: audits.length - MAX_PENDING_AUDITS });
      audits.splice(0, audits.length - MAX_PENDING_AUDITS);
    }
  }

  /** Records the audited targets a source of another group, held when the group took them, would have muted. */
  function recordAudits(audited: CorrelateResponse['audited']): void {
    for (const [fp, hit] of Object.entries(audited ?? {})) {
      const rec = state.alerts[fp];
      if (!rec?.incidentId || rec.inhibitedAfterPromise) continue;
      rec.inhibitedAfterPromise = `${hit.rule} (source ${hit.sourceFingerprint}${hit.sourceGroup ? ` in ${hit.sourceGroup}` : ''})`;
      state.counters.keptOverInhibition = (state.counters.keptOverInhibition ?? 0) + 1;
    }
  }

  async function askCorrelator(req: CorrelateRequest): Promise<CorrelateResponse | undefined> {
    const closedIds = [...state.closedToReport];
    const audits = state.audits ?? [];
    try {
      const answer = await correlating.correlateAlerts({ ...req, ...(closedIds.length > 0 ? { closed: closedIds } : {}), ...(audits.length > 0 ? { audits } : {}) });
      state.closedToReport = state.closedToReport.filter((id) => !closedIds.includes(id));
      if (audits.length > 0) {
        state.audits = (state.audits ?? []).filter((a) => !audits.includes(a));
        recordAudits(answer.audited);
      }
      // Only in a replay of a group that ran before AUDIT_LEASED_TARGETS_PATCH (its recorded answers carry a view).
      if (answer.inhibitors) state.inhibitors = { atMs: Date.now(), view: answer.inhibitors };
      if (answer.topologyError) log.info('correlation without topology', { groupId, error: answer.topologyError });
      return answer;
    } catch (err) {
      // Without the correlator the group still works alone: local inhibition, no cross-group merge.
      if (audits.length > 0) auditsRetryAtMs = Date.now() + AUDIT_RETRY_MS;
      log.warn('correlator unavailable; deciding within the group only', { groupId, error: failureMessage(err) });
      return undefined;
    }
  }

  // ---- incidents ----

  async function startIncident(inc: GroupIncident): Promise<void> {
    if (inc.state !== 'pending') return;
    const alerts = inc.queue.slice(0, MAX_ALERTS_PER_MESSAGE);
    for (let attempt = 0; ; attempt++) {
      try {
        const handle = await startChild<typeof IncidentWorkflow>('IncidentWorkflow', {
          workflowId: inc.id,
          args: [
            {
              incidentId: inc.id,
              groupKey: input.groupKey,
              alerts,
              settings: { ...settings.incident, groupWaitSeconds: 0 },
              aggregation: {
                groupId,
                severityMap,
                notes: [
                  (inc.openAtMs ?? 0) > Date.now()
                    ? `opened by alert group ${groupId} before group_wait ${settings.groupWaitSeconds}s ended: ${inc.queue.length} alerts were waiting (a group holds at most ${MAX_QUEUED_ALERTS} for an incident)`
                    : `opened by alert group ${groupId} after group_wait ${settings.groupWaitSeconds}s`,
                  ...inc.notes,
                ],
                closeHoldSeconds: settings.routingLeaseSeconds + LEASE_CLOCK_MARGIN_MS / 1000 + CLOSE_HOLD_SLACK_SECONDS,
              },
            },
          ],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        });
        inc.state = 'open';
        inc.openedMs = Date.now();
        inc.lastFlushMs = inc.openedMs;
        inc.queue = inc.queue.slice(alerts.length);
        inc.notes = [];
        // The rest of a queue that outgrew one start input follows at once (see MAX_QUEUED_ALERTS).
        if (inc.queue.length > 0 && patched(BOUNDED_QUEUE_PATCH)) await flush(inc);
        const id = inc.id;
        // In this run the child's result tells of its end even if it failed or was terminated;
        // across continue-as-new the incident's own signal does.
        void handle.result().then(
          (s: IncidentStatus) => void serial(() => closedById(id, s.outcome ?? 'closed')),
          (err: unknown) => void serial(() => closedById(id, `failed: ${failureMessage(err)}`)),
        );
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError) || attempt >= 5) throw err;
        // The id is taken (this group lost its state once): take the next one, same alerts.
        state.seq++;
        const next = `${input.incidentPrefix}-${state.seq}`;
        for (const rec of Object.values(state.alerts)) if (rec.incidentId === inc.id) rec.incidentId = next;
        log.warn('incident id taken; using the next', { groupId, taken: inc.id, next });
        inc.id = next;
      }
    }
  }

  async function closedById(id: string, outcome: string): Promise<void> {
    const inc = liveIncident(id);
    if (inc) await markClosed(inc, outcome);
  }

  /** The record of an incident that is not closed (a group may link to one id more than once over time). */
  function liveIncident(id: string): GroupIncident | undefined {
    return state.incidents.find((i) => i.id === id && i.state !== 'closed');
  }

  /** Hands the incident its queue: the whole queue in messages of MAX_ALERTS_PER_MESSAGE (before BOUNDED_QUEUE_PATCH: one message). */
  async function flush(inc: GroupIncident): Promise<void> {
    const whole = inc.queue.length > MAX_ALERTS_PER_MESSAGE && patched(BOUNDED_QUEUE_PATCH);
    do {
      const alerts = inc.queue.slice(0, MAX_ALERTS_PER_MESSAGE);
      const note = inc.notes.length > 0 ? inc.notes.join('; ') : undefined;
      state.flushSeq++;
      try {
        await getExternalWorkflowHandle(inc.id).signal(alertsSignal, {
          groupKey: input.groupKey,
          deliveryId: `${groupId}/flush-${state.flushSeq}`,
          alerts,
          ...(note ? { note } : {}),
        });
        inc.queue = inc.queue.slice(alerts.length);
        inc.notes = [];
        inc.lastFlushMs = Date.now();
      } catch (err) {
        log.info('incident gone before a flush', { groupId, incidentId: inc.id, error: failureMessage(err) });
        await markClosed(inc, 'closed');
        return;
      }
    } while (whole && inc.queue.length > 0);
  }

  function severityOf(alerts: Alert[]) {
    return highestSeverity(alerts.map((a) => alertSeverity(a, severityMap)));
  }
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
