/**
 * Alert aggregation on the real Temporal dev server, through the real ingest HTTP
 * server: one AlertGroupWorkflow per group (update-with-start, or signalWithStart under
 * the group's routing lease), dedup by alert lifecycle, group_wait / group_interval,
 * inhibition, flapping, topology merge and continue-as-new. Each test has its own task
 * queue (and so its own correlator).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { groupIdFor, TemporalAlertSink } from '../src/temporal/temporal-alert-sink.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { ALERT_GROUP_WORKFLOW, decideUpdate, deliverAlertsUpdate, routingLeaseQuery } from '../workflows/messages.js';
import { amWebhook, fingerprintOf, poll, startAggregationHarness, type AggregationHarness, type AmAlert } from './support/aggregation-harness.js';

installTemporalRuntime();

const FAST = { groupWaitSeconds: 1, groupIntervalSeconds: 1, topologyMergeWindowSeconds: 0 } as const;

/**
 * Injects a bad release into the simulator's payment service, so an incident about
 * frontend alerts finds a root cause and (P0) waits for the incident commander instead
 * of closing as "no action" while a test still sends it alerts. Returns a startsAt for them.
 */
async function keepIncidentsOpen(h: AggregationHarness): Promise<string> {
  const startedAt = Math.floor(Date.now() / 1000) - 90;
  const fault = await fetch(`${h.sim.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'bad-release', service: 'payment', startedAt }) });
  assert.equal(fault.status, 201);
  return new Date((startedAt + 15) * 1000).toISOString();
}

/** Critical HighErrorRate alerts of frontend instance `fe-<i>`, starting at `startsAt`. */
function highErrorRate(startsAt: string): (i: number) => AmAlert {
  return (i) => ({ labels: { alertname: 'HighErrorRate', service: 'frontend', instance: `fe-${i}`, severity: 'critical' }, startsAt });
}

void test('a redelivered webhook changes nothing, and after its incident closed (auto-resolved) still opens none', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 2 });
  try {
    const key = h.key('alertname="DiskFull",service="cart"');
    const alert: AmAlert = { labels: { alertname: 'DiskFull', service: 'cart', severity: 'warning' }, startsAt: '2025-03-01T10:00:00Z' };
    const firing = amWebhook(key, [alert]);
    const first = await h.post(firing);
    assert.equal(first.status, 202);
    const id = first.body.incidents[0]?.id ?? '';
    assert.ok(id.startsWith('incident-'), `an incident id before group_wait ends: ${JSON.stringify(first.body)}`);
    const again = await h.post(firing);
    assert.deepEqual(again.body.incidents, first.body.incidents, 'the redelivery names the same incident');

    // Resolved before group_wait ends: the incident opens with the resolved alert and closes auto-resolved.
    const resolved = amWebhook(key, [{ ...alert, status: 'resolved', endsAt: '2025-03-01T10:01:00Z' }]);
    assert.deepEqual((await h.post(resolved)).body.incidents.map((i) => i.id), [id]);
    const final = (await poll('the incident to close', () => h.incident(id).result() as Promise<IncidentStatus>, 30_000)) as IncidentStatus;
    assert.equal(final.outcome, 'auto-resolved');
    assert.equal(final.alerts.length, 1, 'one alert, counted once');
    assert.equal(final.alerts[0]?.status, 'resolved');
    assert.ok(final.timeline.some((t) => /opened by alert group/.test(t.note)));
    await h.waitGroup(key, (g) => g.state.incidents[0]?.state === 'closed', 'the group to hear the incident closed');

    // Alertmanager redelivers the old notifications after the incident closed: nothing new.
    for (const body of [firing, resolved, firing]) {
      const r = await h.post(body);
      assert.equal(r.status, 202);
      assert.deepEqual(r.body.incidents.map((i) => i.id), [id]);
    }
    const g = await h.group(key);
    assert.equal(g.state.incidents.length, 1, 'no second incident');
    assert.equal(g.state.seq, 1);
    assert.equal(g.state.counters.duplicates, 4);
    const runs: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowId="${id}"` })) runs.push(wf.runId);
    assert.equal(runs.length, 1, 'the incident workflow ran once');

    // A new firing of the same alert (later startsAt) is a new lifecycle: a new incident.
    const refire = await h.post(amWebhook(key, [{ ...alert, startsAt: '2025-03-01T11:00:00Z' }]));
    assert.equal(refire.body.incidents[0]?.id, id.replace(/-1$/, '-2'));
  } finally {
    await h.close();
  }
});

void test('20 concurrent webhooks for one group make one incident with every alert', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 3 });
  try {
    const key = h.key('alertname="HighLatency"');
    const bodies = Array.from({ length: 20 }, (_, i) => amWebhook(key, [{ labels: { alertname: 'HighLatency', service: 'checkout', pod: `checkout-${i}`, severity: 'critical' } }]));
    const answers = await Promise.all(bodies.map((b) => h.post(b)));
    assert.ok(answers.every((a) => a.status === 202));
    const ids = new Set(answers.flatMap((a) => a.body.incidents.map((i) => i.id)));
    assert.equal(ids.size, 1, `one incident: ${[...ids].join(', ')}`);
    const [id] = [...ids];
    assert.ok(id);
    const status = await h.waitIncident(id, (s) => s.alerts.length === 20, 'the incident to hold the 20 alerts');
    assert.equal(status.severity, 'P0');
    const g = await h.group(key);
    assert.equal(g.state.incidents.length, 1);
    assert.equal(Object.keys(g.state.alerts).length, 20);
  } finally {
    await h.close();
  }
});

void test('a critical alert inhibits a warning on the same service in another group (equal: [service])', async () => {
  const h = await startAggregationHarness({
    ...FAST,
    inhibitRules: [{ name: 'critical mutes warning', source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ['service'] }],
  });
  try {
    const source = h.key('alertname="PaymentDown"');
    const target = h.key('alertname="PaymentSlow"');
    const other = h.key('alertname="CartSlow"');
    const crit = await h.post(amWebhook(source, [{ labels: { alertname: 'PaymentDown', service: 'payment', severity: 'critical' } }]));
    assert.match(crit.body.incidents[0]?.id ?? '', /^incident-/);

    const warn = await h.post(amWebhook(target, [{ labels: { alertname: 'PaymentSlow', service: 'payment', severity: 'warning' } }]));
    assert.equal(warn.status, 202);
    assert.deepEqual(warn.body.incidents.map((i) => i.id), [groupIdFor(target)], 'no incident: listed under its group');
    const g = await h.group(target);
    assert.equal(g.state.incidents.length, 0, 'the inhibited alert opened nothing');
    assert.equal(g.state.suppressions[0]?.reason, 'inhibited');
    assert.match(g.state.suppressions[0]?.detail ?? '', /critical mutes warning/);

    // Another service is not covered by the rule (equal: [service]).
    const cart = await h.post(amWebhook(other, [{ labels: { alertname: 'CartSlow', service: 'cart', severity: 'warning' } }]));
    assert.match(cart.body.incidents[0]?.id ?? '', /^incident-/);
  } finally {
    await h.close();
  }
});

void test('a flapping alert opens no new incident until it settles', async () => {
  const h = await startAggregationHarness({ ...FAST, flapping: { threshold: 2, windowSeconds: 3600 } });
  try {
    const key = h.key('alertname="Flappy"');
    const labels = { alertname: 'Flappy', service: 'search', severity: 'warning' };
    const t0 = Date.parse('2025-04-01T08:00:00Z');
    const at = (min: number) => new Date(t0 + min * 60_000).toISOString();
    // Fires and resolves at once: the incident closes auto-resolved.
    const first = await h.post(amWebhook(key, [{ labels, startsAt: at(0) }]));
    await h.post(amWebhook(key, [{ labels, status: 'resolved', startsAt: at(0), endsAt: at(1) }]));
    const id = first.body.incidents[0]?.id ?? '';
    await h.waitGroup(key, (g) => g.state.incidents.find((i) => i.id === id)?.state === 'closed', 'the first incident to close');
    // Fires again two minutes later: three state changes in the window, more than 2.
    const again = await h.post(amWebhook(key, [{ labels, startsAt: at(2) }]));
    assert.deepEqual(again.body.incidents.map((i) => i.id), [groupIdFor(key)]);
    const g = await h.group(key);
    assert.equal(g.state.incidents.length, 1, 'no new incident');
    assert.equal(g.state.suppressions.at(-1)?.reason, 'flapping');
    assert.equal(g.state.alerts[fingerprintOf(labels)]?.suppressed?.reason, 'flapping');
    // After it settles (its changes fall out of the window), it opens an incident again.
    const later = await h.post(amWebhook(key, [{ labels, startsAt: at(24 * 60) }]));
    assert.match(later.body.incidents[0]?.id ?? '', /^incident-.*-2$/);
  } finally {
    await h.close();
  }
});

void test('a database alert and the API alert above it, in different groups, become one incident with the merge rule recorded', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 2, topologyMergeWindowSeconds: 300 });
  try {
    const dbKey = h.key('alertname="DbConnections"');
    const apiKey = h.key('alertname="PaymentErrors"');
    const db = await h.post(amWebhook(dbKey, [{ labels: { alertname: 'DbConnections', service: 'payments-db', severity: 'warning' }, startsAt: '2025-05-01T09:00:00Z' }]));
    const api = await h.post(amWebhook(apiKey, [{ labels: { alertname: 'PaymentErrors', service: 'payment', severity: 'critical' }, startsAt: '2025-05-01T09:00:40Z' }]));
    const id = db.body.incidents[0]?.id ?? '';
    assert.deepEqual(api.body.incidents.map((i) => i.id), [id], 'the API alert joins the database incident');
    const status = await h.waitIncident(id, (s) => s.alerts.length === 2, 'the incident to hold both alerts');
    assert.equal(status.severity, 'P0', 'severity is the highest of its alerts');
    assert.ok(
      status.timeline.some((t) => /topology: payment calls payments-db \(alerted 40s apart/.test(t.note)),
      `the merge rule is in the incident's timeline: ${status.timeline.map((t) => t.note).join(' | ')}`,
    );
    const owner = await h.group(dbKey);
    assert.equal(owner.state.incidents[0]?.merges[0]?.fromGroup, groupIdFor(apiKey));
    const linked = await h.group(apiKey);
    assert.equal(linked.state.incidents[0]?.state, 'linked');
    assert.equal(linked.state.incidents[0]?.id, id);
  } finally {
    await h.close();
  }
});

void test('an incident other groups joined closes through its owner: the linked group stops naming it in its lease, and the owner holds it while their leases may', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 1, topologyMergeWindowSeconds: 300 }, { routingLeaseSeconds: 20 });
  try {
    const startsAt = await keepIncidentsOpen(h);
    const dbKey = h.key('alertname="DbConnections"');
    const apiKey = h.key('alertname="PaymentErrors"');
    const api = (i: number): AmAlert => ({ labels: { alertname: 'PaymentErrors', service: 'payment', severity: 'critical', pod: `payment-${i}` }, startsAt });
    const x = (await h.post(amWebhook(dbKey, [{ labels: { alertname: 'DbConnections', service: 'payments-db', severity: 'warning' }, startsAt }]))).body.incidents[0]?.id ?? '';
    assert.deepEqual((await h.post(amWebhook(apiKey, [api(0)]))).body.incidents.map((i) => i.id), [x], 'the API alert joins the database incident');
    // A second batch within the lease's lifetime: the API group gives a lease naming the linked incident.
    assert.deepEqual((await h.post(amWebhook(apiKey, [api(1)]))).body.incidents.map((i) => i.id), [x]);
    assert.equal((await h.client.workflow.getHandle(groupIdFor(apiKey)).query(routingLeaseQuery))?.incidentId, x);
    await h.waitIncident(x, (s) => s.stage === 'checkpoint', 'the incident to wait for the incident commander', 60_000);

    await h.incident(x).executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'commander@local', reason: 'test over' }] });
    await h.waitGroup(apiKey, (g) => g.state.incidents.some((i) => i.id === x && i.state === 'closing'), 'the linked group to hear it is closing');
    assert.equal((await h.client.workflow.getHandle(groupIdFor(apiKey)).query(routingLeaseQuery))?.incidentId ?? null, null, 'its lease no longer names the closing incident');
    // The linked group says so once its leases given before have run out (20 s): the owner holds the incident until then.
    const owner = await h.waitGroup(dbKey, (g) => g.state.incidents.some((i) => i.id === x && i.releasedMs !== undefined), 'the owner to release the incident', 60_000);
    const held = owner.state.incidents.find((i) => i.id === x);
    assert.deepEqual(held?.unheard, [], 'released once the linked group said its leases had run out');
    assert.ok((held?.releasedMs ?? 0) - (held?.closingMs ?? 0) >= 20_000, 'held for the linked group\'s leases');

    const final = (await poll('the incident to close', () => h.incident(x).result() as Promise<IncidentStatus>, 60_000)) as IncidentStatus;
    assert.equal(final.outcome, 'rejected');
    assert.ok(final.timeline.some((t) => /routing leases could still name it/.test(t.note)));
    await h.waitGroup(apiKey, (g) => g.state.incidents.some((i) => i.id === x && i.state === 'closed'), 'the linked group to hear it closed');
  } finally {
    await h.close();
  }
});

void test('late alerts reach the open incident batched per group_interval', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 1, groupIntervalSeconds: 4 });
  try {
    const startsAt = await keepIncidentsOpen(h);
    const key = h.key('alertname="HighErrorRate"');
    const mk = highErrorRate(startsAt);
    const first = await h.post(amWebhook(key, [mk(0)]));
    const id = first.body.incidents[0]?.id ?? '';
    await h.waitIncident(id, (s) => s.alerts.length === 1, 'the incident to open');
    const late = await Promise.all([1, 2, 3].map((i) => h.post(amWebhook(key, [mk(i)]))));
    assert.ok(late.every((r) => r.body.incidents[0]?.id === id), 'late alerts are told the open incident');
    const status = await h.waitIncident(id, (s) => s.alerts.length === 4, 'the late alerts to arrive');
    assert.notEqual(status.stage, 'closed');
    const history = await h.incident(id).fetchHistory();
    const signals = (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'alerts');
    assert.equal(signals.length, 1, 'three late alerts, one batch');
  } finally {
    await h.close();
  }
});

void test('a long storm continues as new without losing an alert', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 1, groupIntervalSeconds: 1, maxEventsBeforeContinueAsNew: 5 });
  try {
    const startsAt = await keepIncidentsOpen(h);
    const key = h.key('alertname="Storm"');
    const mk = (i: number): AmAlert => ({ labels: { alertname: 'Storm', service: 'frontend', pod: `fe-${i}`, severity: 'critical' }, startsAt });
    const ids = new Set<string>();
    // Sequential and concurrent deliveries across several runs: four waves of ten, each
    // taken in by the group before the next, so every wave crosses a continue-as-new.
    for (let i = 0; i < 10; i++) (await h.post(amWebhook(key, [mk(i)]))).body.incidents.forEach((x) => ids.add(x.id));
    await h.waitGroup(key, (x) => Object.keys(x.state.alerts).length === 10, 'the first wave');
    for (let wave = 1; wave < 4; wave++) {
      const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => h.post(amWebhook(key, [mk(wave * 10 + i)]))));
      burst.forEach((r) => r.body.incidents.forEach((x) => ids.add(x.id)));
      await h.waitGroup(key, (x) => Object.keys(x.state.alerts).length === 10 * (wave + 1), `wave ${wave + 1}`);
    }
    assert.equal(ids.size, 1, `one incident across runs: ${[...ids].join(', ')}`);
    const [id] = [...ids];
    assert.ok(id);
    const g = await h.waitGroup(key, (x) => x.state.counters.continuedAsNew >= 4, 'the group to continue as new');
    assert.equal(Object.keys(g.state.alerts).length, 40, 'every alert is in the records');
    assert.ok(Object.values(g.state.alerts).every((r) => r.incidentId === id));
    const status = await h.waitIncident(id, (s) => s.alerts.length === 40, 'the incident to hold all 40 alerts');
    assert.equal(new Set(status.alerts.map((a) => a.fingerprint)).size, 40);
    const runs: string[] = [];
    for await (const wf of h.client.workflow.list({ query: `WorkflowId="${groupIdFor(key)}"` })) runs.push(wf.runId);
    assert.ok(runs.length >= 4, `several runs of the group (${runs.length})`);
  } finally {
    await h.close();
  }
});

void test('a malformed batch is refused by the update validator and never enters the group', async () => {
  const h = await startAggregationHarness(FAST);
  try {
    const key = h.key('alertname="Bad"');
    const sink = new TemporalAlertSink(h.client, h.connection, { taskQueue: h.config.temporal.taskQueue, aggregation: FAST });
    const update = (batch: unknown) =>
      h.client.workflow.executeUpdateWithStart(deliverAlertsUpdate, {
        args: [batch as never],
        startWorkflowOperation: new WithStartWorkflowOperation(ALERT_GROUP_WORKFLOW, {
          workflowId: groupIdFor(key),
          taskQueue: h.config.temporal.taskQueue,
          args: [sink.groupInput(key)],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
    const good = { groupKey: key, deliveryId: 'd-good', alerts: [{ fingerprint: 'aa', status: 'firing', labels: { alertname: 'Bad' }, startsAt: '2025-01-01T00:00:00Z' }] };
    const answer = await update(good);
    assert.equal(answer.lease, undefined, 'no routing lease for a sender that did not ask for one (it costs a pass over the records)');
    for (const bad of [
      { ...good, deliveryId: 'd1', alerts: [] },
      { ...good, deliveryId: 'd2', alerts: [{ fingerprint: 'bb', status: 'burning', labels: {}, startsAt: 'x' }] },
      { groupKey: key, alerts: good.alerts },
      { ...good, deliveryId: 'd3', groupKey: 'another group' },
    ]) {
      await assert.rejects(update(bad), (err: unknown) => err instanceof WorkflowUpdateFailedError, JSON.stringify(bad));
    }
    const g = await h.group(key);
    assert.equal(g.state.counters.deliveries, 1, 'only the good batch was handled');
    const history = await h.client.workflow.getHandle(groupIdFor(key)).fetchHistory();
    const accepted = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    assert.equal(accepted.length, 1, 'refused updates leave no trace in history');
  } finally {
    await h.close();
  }
});

void test('under the routing lease, new alerts and inhibition targets are answered without waiting for the group and go where the 202 said; a resolved fingerprint asks the group', async () => {
  const h = await startAggregationHarness(
    {
      ...FAST,
      inhibitRules: [{ name: 'critical mutes warning', source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }],
    },
    { routingLeaseSeconds: 30 },
  );
  try {
    const startsAt = await keepIncidentsOpen(h);
    const key = h.key('alertname="Errors"');
    const mk = (i: number, extra: Partial<AmAlert> = {}): AmAlert => ({ labels: { alertname: 'Errors', service: 'frontend', pod: `fe-${i}`, severity: 'critical' }, startsAt, ...extra });
    const first = await h.post(amWebhook(key, [mk(0)]));
    const id = first.body.incidents[0]?.id ?? '';
    assert.match(id, /^incident-/);
    assert.deepEqual(h.batchesVia(), { leased: 0, asked: 1 }, 'the first batch of a group asks it');
    assert.equal((await h.group(key)).state.leaseAskedMs, undefined, 'a group heard from once has no lease to give');
    // A second batch within the lease's lifetime: batches come fast enough for a lease to pay.
    assert.deepEqual((await h.post(amWebhook(key, [mk(9)]))).body.incidents.map((i) => i.id), [id]);
    assert.deepEqual(h.batchesVia(), { leased: 0, asked: 2 }, 'it asks the group, and for the lease');

    const leased = await Promise.all([1, 2, 3].map((i) => h.post(amWebhook(key, [mk(i)]))));
    assert.ok(leased.every((r) => r.status === 202 && r.body.incidents[0]?.id === id), 'answered with the leased incident');
    assert.deepEqual(h.batchesVia(), { leased: 3, asked: 2 });
    const g = await h.waitGroup(key, (x) => Object.keys(x.state.alerts).length === 5 && Object.values(x.state.alerts).every((r) => r.incidentId || r.suppressed), 'the leased alerts routed by the group');
    assert.ok(Object.values(g.state.alerts).every((r) => r.incidentId === id && r.promised === undefined), 'every alert went where the 202 said');
    assert.equal(g.state.counters.promisesBroken, undefined);
    await h.waitIncident(id, (s) => s.alerts.length === 5, 'the incident to hold all five');

    // Targets of the inhibit rule: ingest lays the correlator's view over the lease (a critical alert fires on frontend).
    const warning = { labels: { alertname: 'Errors', service: 'frontend', pod: 'fe-w', severity: 'warning' }, startsAt };
    for (let i = 0; i < 2; i++) {
      const r = await h.post(amWebhook(key, [warning]));
      assert.deepEqual(r.body.incidents.map((x) => x.id), [groupIdFor(key)], 'inhibited: no incident');
    }
    const elsewhere = { labels: { alertname: 'Errors', service: 'cart', pod: 'cart-w', severity: 'warning' }, startsAt };
    assert.deepEqual((await h.post(amWebhook(key, [elsewhere]))).body.incidents.map((x) => x.id), [id], 'no critical alert on cart: it joins');
    assert.deepEqual(h.batchesVia(), { leased: 6, asked: 2 }, 'all answered from the lease');
    const after = await h.waitGroup(key, (x) => Object.keys(x.state.alerts).length === 7 && Object.values(x.state.alerts).every((r) => r.incidentId || r.suppressed), 'the targets decided by the group');
    assert.equal(after.state.alerts[fingerprintOf(warning.labels)]?.suppressed?.reason, 'inhibited', 'the group agrees');
    assert.equal(after.state.alerts[fingerprintOf(elsewhere.labels)]?.incidentId, id);
    assert.equal(after.state.counters.promisesBroken, undefined, 'every promise kept');

    // The race a lease cannot see: a critical alert begins firing on cart (another group) after ingest read the view.
    await h.post(amWebhook(h.key('alertname="CartDown"'), [{ labels: { alertname: 'CartDown', service: 'cart', severity: 'critical' }, startsAt }]));
    const raced = { labels: { alertname: 'Errors', service: 'cart', pod: 'cart-w2', severity: 'warning' }, startsAt };
    assert.deepEqual((await h.post(amWebhook(key, [raced]))).body.incidents.map((x) => x.id), [id], 'the lease does not know of it yet');
    assert.deepEqual(h.batchesVia(), { leased: 7, asked: 3 });
    // The group checks it against other groups' sources with its next correlator call (within a few seconds).
    const kept = await h.waitGroup(key, (x) => !!x.state.alerts[fingerprintOf(raced.labels)]?.inhibitedAfterPromise, 'the raced alert routed and checked');
    const rec = kept.state.alerts[fingerprintOf(raced.labels)];
    assert.equal(rec?.incidentId, id, 'it went where the 202 said');
    assert.match(rec?.inhibitedAfterPromise ?? '', /critical mutes warning/, 'its record says what would have muted it');
    assert.equal(kept.state.counters.keptOverInhibition, 1);
    assert.equal(kept.state.counters.promisesBroken, undefined);
    await h.waitIncident(id, (s) => s.alerts.some((a) => a.fingerprint === fingerprintOf(raced.labels)), 'the incident to hold it');

    // A resolution, and then the same lifecycle firing again (the record is resolved: an exception of the lease).
    await h.post(amWebhook(key, [mk(1, { status: 'resolved', endsAt: new Date().toISOString() })]));
    const again = await h.post(amWebhook(key, [mk(1)]));
    assert.deepEqual(again.body.incidents.map((x) => x.id), [id]);
    assert.deepEqual(h.batchesVia(), { leased: 7, asked: 5 }, 'resolutions and lease exceptions asked the group');
  } finally {
    await h.close();
  }
});

void test('alerts queued for the next flush when the pipeline ends reach the incident before it closes, and open a follow-up incident', async () => {
  // group_interval far longer than the test: only the close hands the queued alert over.
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 1, groupIntervalSeconds: 600 });
  try {
    const startsAt = await keepIncidentsOpen(h);
    const key = h.key('alertname="HighErrorRate"');
    const mk = highErrorRate(startsAt);
    const x = (await h.post(amWebhook(key, [mk(0)]))).body.incidents[0]?.id ?? '';
    await h.waitIncident(x, (s) => s.stage === 'checkpoint', 'the incident to wait for the incident commander', 60_000);
    const late = await h.post(amWebhook(key, [mk(1)]));
    assert.deepEqual(late.body.incidents.map((i) => i.id), [x], 'the 202 names the open incident');
    await h.waitGroup(key, (g) => g.state.incidents.find((i) => i.id === x)?.queue.length === 1, 'the late alert queued for the next flush');

    await h.incident(x).executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'commander@local', reason: 'test over' }] });
    const final = (await poll('the incident to close', () => h.incident(x).result() as Promise<IncidentStatus>, 60_000)) as IncidentStatus;
    assert.equal(final.outcome, 'rejected');
    assert.ok(final.alerts.some((a) => a.fingerprint === fingerprintOf(mk(1).labels)), 'the queued alert reached the incident the 202 named');
    assert.ok(final.timeline.some((t) => /1 alert\(s\) reached this incident after its diagnosis/.test(t.note)), 'its timeline says it came after the diagnosis');

    const g = await h.waitGroup(key, (s) => s.state.incidents.length === 2, 'a follow-up incident');
    const y = g.state.incidents[1];
    assert.ok(y && y.id !== x && y.fingerprints.includes(fingerprintOf(mk(1).labels)), 'the late alert opened a follow-up incident');
    assert.equal(g.state.counters.promisesBroken, undefined, 'no 202 named an incident its alert never reached');
    assert.equal(g.state.counters.followUps, 1);
    const followUp = await h.waitIncident(y.id, (s) => s.alerts.length === 1, 'the follow-up incident to open', 60_000);
    assert.ok(followUp.timeline.some((t) => t.note.includes(`follow-up of ${x}`)), 'the follow-up says whose');
  } finally {
    await h.close();
  }
});

void test('an incident whose pipeline ended is held while a routing lease may name it: an alert sent under the lease reaches it', async () => {
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 1 }, { routingLeaseSeconds: 20 });
  try {
    const key = h.key('alertname="Disk",service="cart"');
    const a: AmAlert = { labels: { alertname: 'Disk', service: 'cart', severity: 'warning', device: 'a' }, startsAt: '2025-03-01T10:00:00Z' };
    const x = (await h.post(amWebhook(key, [a]))).body.incidents[0]?.id ?? '';
    // Resolved before diagnosis: the incident's pipeline ends at once (auto-resolved); the sink holds a lease naming it.
    await h.post(amWebhook(key, [{ ...a, status: 'resolved', endsAt: '2025-03-01T10:01:00Z' }]));
    await h.waitGroup(key, (g) => g.state.incidents.some((i) => i.id === x && i.state === 'closing'), 'the incident to say it is closing');

    const b: AmAlert = { labels: { alertname: 'Disk', service: 'cart', severity: 'warning', device: 'b' }, startsAt: '2025-03-01T10:05:00Z' };
    const late = await h.post(amWebhook(key, [b]));
    assert.deepEqual(late.body.incidents.map((i) => i.id), [x], 'the lease still names it');
    assert.equal(h.batchesVia().leased, 1, 'answered from the lease');
    const held = await h.waitIncident(x, (s) => s.alerts.some((al) => al.fingerprint === fingerprintOf(b.labels)), 'the alert to reach the closing incident');
    assert.notEqual(held.stage, 'closed', 'held while the lease may name it');

    const final = (await poll('the incident to close', () => h.incident(x).result() as Promise<IncidentStatus>, 60_000)) as IncidentStatus;
    assert.equal(final.outcome, 'auto-resolved');
    assert.ok(final.timeline.some((t) => /routing leases could still name it/.test(t.note)), 'its timeline says why it was held');
    const g = await h.waitGroup(key, (s) => s.state.incidents.length === 2, 'a follow-up incident for the alert no diagnosis saw');
    const rec = g.state.alerts[fingerprintOf(b.labels)];
    assert.equal(rec?.incidentId, g.state.incidents[1]?.id);
    assert.equal(rec?.promised, undefined, 'no broken promise');
    assert.equal(g.state.counters.promisesBroken, undefined);
    assert.equal(g.state.counters.followUps, 1);
  } finally {
    await h.close();
  }
});

void test('a storm of 1,000 alerts for one incident opens it before group_wait ends and reaches it before group_interval; the group holds no more than that', async () => {
  // group_wait and group_interval of an hour: only the size of the queue can hand the alerts over.
  const h = await startAggregationHarness({ ...FAST, groupWaitSeconds: 3600, groupIntervalSeconds: 3600 });
  try {
    const startsAt = await keepIncidentsOpen(h);
    const key = h.key('alertname="HighErrorRate",service="frontend"');
    const alert = highErrorRate(startsAt);
    let sent = 0;
    const send = async (batches: number) => {
      for (let b = 0; b < batches; b++) {
        const r = await h.post(amWebhook(key, Array.from({ length: 100 }, () => alert(sent++))));
        assert.equal(r.status, 202);
      }
    };
    await send(10);
    const id = (await h.group(key)).state.incidents[0]?.id ?? '';
    // The status lists at most 500 alerts; alertsTotal counts them all.
    const total = (s: IncidentStatus) => s.alertsTotal ?? s.alerts.length;
    const opened = await h.waitIncident(id, (s) => total(s) >= 1000, 'the incident to open with the first 1,000 alerts', 60_000);
    assert.ok(opened.timeline.some((t) => /before group_wait 3600s ended: \d+ alerts were waiting/.test(t.note)), 'the timeline says why it opened early');
    await send(10);
    const grown = await h.waitIncident(id, (s) => total(s) >= 2000, 'the next 1,000 alerts without waiting for group_interval', 60_000);
    assert.ok(total(grown) <= sent);
    const g = await h.group(key);
    assert.equal(g.state.incidents.length, 1, 'still one incident');
    assert.ok((g.state.incidents[0]?.queue.length ?? 0) < 1000, 'the group holds less than 1,000 whole alerts for it');
    assert.equal(Object.values(g.state.alerts).filter((a) => a.incidentId === id).length, sent, 'every alert recorded as routed to it');
  } finally {
    await h.close();
  }
});
