/**
 * The pure parts of alert aggregation: Alertmanager matchers, inhibition, flapping,
 * lifecycle dedup and the correlator's decisions (no Temporal needed).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boundCorrelatorState, correlate, currentInhibitionView, emptyCorrelatorState, inhibitionView, linksFor, type CorrelateRequest, type CorrelatorState } from '../src/aggregation/correlation.js';
import { isFlapping, recordTransition } from '../src/aggregation/flapping.js';
import { classify, emptyGroupState, prune } from '../src/aggregation/group-state.js';
import { compileRules, findInhibitor, matches, MatcherSyntaxError, parseMatcher } from '../src/aggregation/matchers.js';
import { leaseOf, MAX_LEASE_EXCEPTIONS, promisedIncident } from '../src/aggregation/routing-lease.js';
import { AggregationSettings } from '../src/aggregation/settings.js';
import { sourceChanges, sourceSignature, type RegisteredSources } from '../src/aggregation/source-registry.js';

void test('matchers follow Alertmanager syntax: =, !=, =~, !~, quoted values, anchored regexes, missing labels read as ""', () => {
  const labels = { severity: 'critical', service: 'payment-api', env: 'prod' };
  assert.equal(matches(parseMatcher('severity=critical'), labels), true);
  assert.equal(matches(parseMatcher('severity="critical"'), labels), true);
  assert.equal(matches(parseMatcher('severity != warning'), labels), true);
  assert.equal(matches(parseMatcher('service=~payment.*'), labels), true);
  assert.equal(matches(parseMatcher('service=~payment'), labels), false, 'regexes are anchored');
  assert.equal(matches(parseMatcher('service!~"cart|search"'), labels), true);
  assert.equal(matches(parseMatcher('team=""'), labels), true, 'a missing label is the empty string');
  assert.equal(matches(parseMatcher('team!=""'), labels), false);
  assert.equal(matches(parseMatcher('summary="a=b, c"'), { summary: 'a=b, c' }), true);
  for (const bad of ['severity', '=critical', 'sev-erity=x', 'service=~"(unclosed"', 'a="unterminated']) {
    assert.throws(() => parseMatcher(bad), MatcherSyntaxError, bad);
  }
  assert.equal(AggregationSettings.safeParse({ inhibitRules: [{ source_matchers: ['nope'], target_matchers: ['a=b'] }] }).success, false, 'settings refuse bad matchers');
});

void test('inhibition: source and target matchers, equal labels, never itself, two-sided exclusion', () => {
  const rules = compileRules([{ source_matchers: ['severity=critical'], target_matchers: ['severity=~warning|info'], equal: ['service'] }]);
  const crit = { fingerprint: 'c1', labels: { alertname: 'Down', severity: 'critical', service: 'payment' } };
  const warn = { fingerprint: 'w1', labels: { alertname: 'Slow', severity: 'warning', service: 'payment' } };
  const warnOther = { fingerprint: 'w2', labels: { alertname: 'Slow', severity: 'warning', service: 'cart' } };
  assert.equal(findInhibitor(rules, warn, [crit])?.sourceFingerprint, 'c1');
  assert.equal(findInhibitor(rules, warnOther, [crit]), undefined, 'equal: [service] differs');
  assert.equal(findInhibitor(rules, crit, [crit]), undefined, 'a critical is not a target');
  assert.equal(findInhibitor(rules, warn, []), undefined);

  const both = compileRules([{ source_matchers: ['alertname=~"A|B"'], target_matchers: ['alertname=~"A|B"'], equal: [] }]);
  const a = { fingerprint: 'a', labels: { alertname: 'A' } };
  const b = { fingerprint: 'b', labels: { alertname: 'B' } };
  assert.equal(findInhibitor(both, a, [a, b]), undefined, 'alerts matching both sides do not mute each other');
  assert.equal(findInhibitor(both, a, [a]), undefined, 'never itself');
});

void test('flapping: more than threshold state changes in the window, settling when they age out', () => {
  const policy = { threshold: 3, windowSeconds: 60 };
  let t: number[] = [];
  for (const s of [0, 10, 20, 30]) t = recordTransition(t, s * 1000, policy);
  assert.equal(isFlapping(t, 30_000, policy), true, '4 changes in 60 s');
  assert.equal(isFlapping(t.slice(1), 30_000, policy), false);
  t = recordTransition(t, 85_000, policy);
  assert.deepEqual(t, [30_000, 85_000], 'old changes are pruned');
  assert.equal(isFlapping(t, 85_000, policy), false, 'settled');
});

void test('lifecycle dedup: same startsAt is a duplicate (after resolution too), later startsAt a new lifecycle', () => {
  const rec = { startsAt: '2025-01-01T00:00:00Z', status: 'firing' as const };
  assert.equal(classify(undefined, { startsAt: rec.startsAt, status: 'firing' }), 'new');
  assert.equal(classify(rec, { startsAt: rec.startsAt, status: 'firing' }), 'duplicate');
  assert.equal(classify(rec, { startsAt: rec.startsAt, status: 'resolved' }), 'resolution');
  assert.equal(classify({ ...rec, status: 'resolved' }, { startsAt: rec.startsAt, status: 'firing' }), 'duplicate', 'an old firing after its resolution');
  assert.equal(classify(rec, { startsAt: '2025-01-01T01:00:00Z', status: 'firing' }), 'new');
  assert.equal(classify(rec, { startsAt: '2024-12-31T23:00:00Z', status: 'firing' }), 'stale');
  assert.equal(classify(rec, { startsAt: '2025-01-01T00:00:00.000Z', status: 'firing' }), 'duplicate', 'compared as instants');
});

void test('pruning keeps open incidents\' alerts and forgets old resolved lifecycles', () => {
  const s = emptyGroupState();
  const settings = { dedupRetentionSeconds: 100, keepClosedIncidents: 1, keepSuppressions: 1 };
  s.alerts['old'] = { fingerprint: 'old', startsAt: 'x', status: 'resolved', labels: {}, incidentId: 'i-1', transitions: [], seenMs: 0 };
  s.alerts['open'] = { fingerprint: 'open', startsAt: 'x', status: 'firing', labels: {}, incidentId: 'i-2', transitions: [], seenMs: 0 };
  s.alerts['new'] = { fingerprint: 'new', startsAt: 'x', status: 'resolved', labels: {}, incidentId: 'i-1', transitions: [], seenMs: 150_000 };
  const inc = (id: string, state: 'closed' | 'open') => ({ id, state, ownerGroup: 'g', severity: 'P3' as const, fingerprints: [], queue: [], notes: [], merges: [], linkedGroups: [] });
  s.incidents = [inc('i-0', 'closed'), inc('i-1', 'closed'), inc('i-2', 'open')];
  prune(s, 200_000, settings);
  assert.deepEqual(Object.keys(s.alerts).sort(), ['new', 'open']);
  assert.deepEqual(s.incidents.map((i) => i.id), ['i-1', 'i-2']);
});

void test('the correlator links a candidate to another group\'s incident on a linked service within the window, and inhibits across groups', () => {
  const topology = { edges: [{ source: 'frontend', target: 'payment', kind: 'calls' }, { source: 'payment', target: 'payments-db', kind: 'calls' }] };
  assert.deepEqual(linksFor(topology, ['payment']), [
    { service: 'payment', other: 'frontend', relation: 'is called by' },
    { service: 'payment', other: 'payments-db', relation: 'calls' },
  ]);
  const base: CorrelateRequest = { group: 'g-db', rules: [], addSources: [], removeSources: [], targets: [] };
  const t0 = Date.parse('2025-05-01T09:00:00Z');
  let state = emptyCorrelatorState();
  let out = correlate(state, { ...base, candidate: { incidentId: 'inc-db-1', services: ['payments-db'], links: [], atMs: t0, windowSeconds: 300, fingerprints: ['d'] } }, 1);
  assert.deepEqual(out.response.incident, { incidentId: 'inc-db-1', ownerGroup: 'g-db' });
  state = out.state;
  const api = { incidentId: 'inc-api-1', services: ['payment'], links: linksFor(topology, ['payment']), atMs: t0 + 40_000, windowSeconds: 300, fingerprints: ['a'] };
  out = correlate(state, { ...base, group: 'g-api', candidate: api }, 2);
  assert.equal(out.response.incident?.incidentId, 'inc-db-1');
  assert.equal(out.response.incident?.mergeRule, 'topology: payment calls payments-db (alerted 40s apart, window 300s)');
  // Too far apart: its own incident.
  out = correlate(state, { ...base, group: 'g-api', candidate: { ...api, atMs: t0 + 3_600_000 } }, 2);
  assert.equal(out.response.incident?.incidentId, 'inc-api-1');
  // Closed incidents no longer link.
  out = correlate(state, { ...base, group: 'g-api', closed: ['inc-db-1'], candidate: api }, 2);
  assert.equal(out.response.incident?.incidentId, 'inc-api-1');

  const rules = [{ source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }];
  state = correlate(emptyCorrelatorState(), { ...base, group: 'g1', rules, addSources: [{ fingerprint: 'c', labels: { severity: 'critical', service: 'payment' } }] }, 1).state;
  out = correlate(state, { ...base, group: 'g2', rules, targets: [{ fingerprint: 'w', labels: { severity: 'warning', service: 'payment' } }], candidate: { ...api, fingerprints: ['w'] } }, 2);
  assert.deepEqual(out.response.inhibited['w'], { rule: out.response.inhibited['w']?.rule, sourceFingerprint: 'c', sourceGroup: 'g1' });
  assert.equal(out.response.incident, undefined, 'nothing left to open: no incident registered');
  state = correlate(state, { ...base, group: 'g1', rules, removeSources: ['c'] }, 3).state;
  out = correlate(state, { ...base, group: 'g2', rules, targets: [{ fingerprint: 'w', labels: { severity: 'warning', service: 'payment' } }] }, 4);
  assert.deepEqual(out.response.inhibited, {}, 'a resolved source inhibits no more');
});

void test('the correlator tells ingest what its sources inhibit now, and audits targets a lease already routed against the sources held when their group took them', () => {
  const rules = [{ name: 'critical mutes warning', source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }];
  const base: CorrelateRequest = { group: 'g-api', rules, addSources: [], removeSources: [], targets: [] };
  const crit = (fingerprint: string, service: string) => ({ fingerprint, labels: { severity: 'critical', service } });
  let state = correlate(emptyCorrelatorState(), { ...base, group: 'g-db', addSources: [crit('db', 'payment')] }, 1_000).state;
  assert.deepEqual(currentInhibitionView(state, rules, 2_000), { '0': ['["payment"]'] }, 'the view: warnings on payment are inhibited');
  assert.deepEqual(currentInhibitionView(state, [], 2_000), {}, 'no rules, nothing to say');
  // Registered again, a source keeps the time it was first held.
  state = correlate(state, { ...base, group: 'g-db', addSources: [crit('db', 'payment')] }, 5_000).state;
  assert.equal(state.sources[0]?.sinceMs, 1_000);
  state = correlate(state, { ...base, group: 'g-cart', addSources: [crit('cart', 'cart')] }, 6_000).state;

  const warning = (fingerprint: string, service: string, atMs: number) => ({ fingerprint, labels: { severity: 'warning', service }, atMs });
  const out = correlate(state, { ...base, audits: [warning('w-pay', 'payment', 3_000), warning('w-cart-early', 'cart', 5_500), warning('w-cart-late', 'cart', 6_000), warning('w-ok', 'search', 7_000)] }, 8_000);
  assert.deepEqual(Object.keys(out.response.audited ?? {}).sort(), ['w-cart-late', 'w-pay'], 'only sources already held when the group took the target count');
  assert.equal(out.response.audited?.['w-pay']?.sourceGroup, 'g-db');
  assert.deepEqual(out.response.inhibited, {}, 'an audit decides nothing');
  const own = correlate(state, { ...base, group: 'g-db', audits: [warning('w-own', 'payment', 9_000)] }, 9_000);
  assert.equal(own.response.audited, undefined, "the group's own sources are not audited here (it checked them when it took the alert)");
});

void test('the correlator keeps only the labels its rules read, and its carried state stays under a size bound', () => {
  const rules = [{ source_matchers: ['severity="critical"'], target_matchers: ['severity=~"warning|info"'], equal: ['service', 'namespace'] }];
  const labels = { alertname: 'HighErrorRate', severity: 'critical', service: 'payment', namespace: 'shop', pod: 'payment-7d9f-abcde', instance: '10.0.0.7:9090', team: 'payments', runbook_url: 'https://runbooks/x' };
  const base: CorrelateRequest = { group: 'g1', rules, addSources: [{ fingerprint: 'c', labels }], removeSources: [], targets: [] };
  const state = correlate(emptyCorrelatorState(), base, 1).state;
  assert.deepEqual(state.sources[0]?.labels, { severity: 'critical', service: 'payment', namespace: 'shop' });
  // Inhibition still works on the kept labels.
  const out = correlate(state, { ...base, group: 'g2', addSources: [], targets: [{ fingerprint: 'w', labels: { severity: 'warning', service: 'payment', namespace: 'shop' } }] }, 2);
  assert.equal(out.response.inhibited['w']?.sourceFingerprint, 'c');

  const big: CorrelatorState = {
    sources: Array.from({ length: 20_000 }, (_, i) => ({ group: `alert-group-${i % 300}`, fingerprint: `fp${i}`, labels: { severity: 'critical', service: `svc-${i % 50}` }, expiresAtMs: 1_000_000 + i })),
    incidents: Array.from({ length: 3_000 }, (_, i) => ({ incidentId: `incident-${i}`, ownerGroup: `alert-group-${i}`, services: [`svc-${i % 50}`], firstAtMs: i, lastAtMs: i, touchedMs: i })),
  };
  const bounded = boundCorrelatorState(big, 400 * 1024);
  assert.ok(JSON.stringify(bounded.state).length <= 400 * 1024);
  assert.equal(bounded.dropped.sources + bounded.state.sources.length, 20_000);
  assert.equal(bounded.dropped.incidents + bounded.state.incidents.length, 3_000);
  assert.ok(bounded.state.sources.every((s) => s.expiresAtMs >= 1_000_000 + bounded.dropped.sources), 'the sources that expire first went first');
  assert.ok(bounded.state.incidents.every((i) => i.touchedMs >= bounded.dropped.incidents), 'the incidents touched longest ago went first');
  const small = boundCorrelatorState(state, 400 * 1024);
  assert.equal(small.state, state, 'a state under the bound is kept as it is');
});

void test('routing lease: the current incident and every fingerprint that would not go there, with the correlator\'s view laid over it; a batch is promised only when the lease settles all of it', () => {
  const state = emptyGroupState();
  const now = 1_000_000;
  assert.deepEqual(leaseOf(state, now), { atMs: now, incidentId: null, exceptions: [] }, 'no current incident: only inhibited alerts are settled');
  const rec = (fingerprint: string, incidentId: string | null, extra: object = {}) => ({ fingerprint, startsAt: '2025-01-01T00:00:00Z', status: 'firing' as const, labels: {}, incidentId, transitions: [], seenMs: 0, ...extra });
  const inc = (id: string, s: 'pending' | 'open' | 'linked' | 'closing' | 'closed') => ({ id, state: s, ownerGroup: 'g', severity: 'P2' as const, fingerprints: [], queue: [], notes: [], merges: [], linkedGroups: [] });
  state.incidents.push(inc('i-1', 'closed'), inc('i-2', 'open'));
  state.alerts = {
    a: rec('a', 'i-2'),
    old: rec('old', 'i-1'),
    muted: rec('muted', null, { suppressed: { reason: 'inhibited', detail: 'x' } }),
    gone: rec('gone', 'i-2', { status: 'resolved' }),
  };
  const rules = compileRules([{ source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }]);
  const groupLease = leaseOf(state, now);
  assert.deepEqual({ ...groupLease, exceptions: [...(groupLease.exceptions ?? [])].sort() }, { atMs: now, incidentId: 'i-2', exceptions: ['gone', 'muted', 'old'] });
  // The correlator's view, which ingest lays over the lease: a critical alert fires on checkout.
  const view = inhibitionView(rules, [{ labels: { severity: 'critical', service: 'checkout' } }, { labels: { severity: 'warning', service: 'cart' } }]);
  assert.deepEqual(view, { '0': ['["checkout"]'] });
  const lease = { ...groupLease, inhibitors: view };

  const firing = (fingerprint: string, severity = 'critical', service = 'cart') => ({ fingerprint, status: 'firing' as const, labels: { severity, service } });
  assert.deepEqual(promisedIncident(lease, [firing('new'), firing('a')], rules), { incidentId: 'i-2', suppressed: [] }, 'new alerts and redeliveries of the incident\'s own');
  assert.deepEqual(promisedIncident(lease, [firing('w1', 'warning', 'checkout'), firing('w2', 'warning', 'cart')], rules), { incidentId: 'i-2', suppressed: ['w1'] }, 'a target is inhibited where a source fires with its equal labels');
  assert.equal(promisedIncident(lease, [firing('new'), firing('old')], rules), undefined, 'one alert of an older incident: ask the group');
  assert.equal(promisedIncident(lease, [firing('muted')], rules), undefined);
  assert.equal(promisedIncident(lease, [firing('gone')], rules), undefined);
  assert.equal(promisedIncident(lease, [{ ...firing('a'), status: 'resolved' }], rules), undefined, 'a resolution');

  assert.equal(promisedIncident(groupLease, [firing('w2', 'warning')], rules), undefined, 'without a view a target asks the group');
  const both = compileRules([{ source_matchers: ['team=db'], target_matchers: ['team=db'], equal: [] }]);
  assert.equal(promisedIncident({ ...lease, inhibitors: { '0': [] } }, [{ fingerprint: 'x', status: 'firing', labels: { team: 'db' } }], both), undefined, 'a target that is also a source of its rule asks the group');

  // No current incident: the lease settles only batches whose every alert is inhibited.
  const bare = { ...leaseOf(emptyGroupState(), now), inhibitors: view };
  {
    assert.deepEqual(promisedIncident(bare, [firing('w1', 'warning', 'checkout')], rules), { incidentId: null, suppressed: ['w1'] });
    assert.equal(promisedIncident(bare, [firing('w1', 'warning', 'checkout'), firing('w2', 'warning', 'cart')], rules), undefined, 'an alert that would open an incident: the group decides');
  }

  // An incident that is closing takes no new alerts: it is not named (another group's incident this group's alerts join is).
  assert.equal(leaseOf({ ...emptyGroupState(), incidents: [inc('i-3', 'closing')] }, now).incidentId, null, 'closing: the next alert opens a new incident');
  assert.equal(leaseOf({ ...emptyGroupState(), incidents: [{ ...inc('i-4', 'linked'), ownerGroup: 'other' }] }, now)?.incidentId, 'i-4', 'linked');

  for (let i = 0; i <= MAX_LEASE_EXCEPTIONS; i++) state.alerts[`x${i}`] = rec(`x${i}`, 'i-1');
  const crowded = leaseOf(state, now);
  assert.equal(crowded?.exceptions, null, 'too many to list');
  if (crowded) assert.equal(promisedIncident(crowded, [firing('new')], rules), undefined, 'then every batch asks the group');
});

void test('the correlator hears of one source per signature: more alike sources cost no call, and a resolved representative hands over to one still firing', () => {
  const rules = compileRules([{ name: 'critical mutes warning', source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }]);
  const pod = (service: string, i: number) => ({ fingerprint: `${service}-${i}`, labels: { alertname: 'Down', service, severity: 'critical', pod: `${service}-${i}` } });
  const registered: RegisteredSources = {};
  const [p0, p1, p2] = [pod('payment', 0), pod('payment', 1), pod('payment', 2)];
  const cart = pod('cart', 0);
  assert.ok(p0 && p1 && p2);

  // The first payment source and the first cart source are registered; the other payment pods inhibit nothing more.
  assert.deepEqual(sourceChanges(rules, registered, [p0, p1, cart], [], [p0, p1, cart]).add.map((a) => a.fingerprint), ['payment-0', 'cart-0']);
  assert.deepEqual(sourceChanges(rules, registered, [p2], [], [p0, p1, p2, cart]), { add: [], remove: [] }, 'a third alike source: no call');

  // Whatever resolves is removed; the representative's place goes to a source of its signature still firing.
  assert.deepEqual(sourceChanges(rules, registered, [], [p1], [p0, p2, cart]), { add: [], remove: ['payment-1'] });
  assert.deepEqual(sourceChanges(rules, registered, [], [p0], [p2, cart]), { add: [p2], remove: ['payment-0'] });
  assert.deepEqual(sourceChanges(rules, registered, [], [p2], [cart]), { add: [], remove: ['payment-2'] });
  assert.deepEqual(sourceChanges(rules, registered, [p1], [], [p1, cart]).add, [p1], 'payment fires again: registered again');

  // What makes sources alike: each rule's role and `equal` labels, not the rest of their labels.
  const both = compileRules([{ source_matchers: ['severity=~critical|warning'], target_matchers: ['severity=warning'], equal: ['service'] }]);
  assert.notEqual(sourceSignature(both, { service: 'a', severity: 'critical' }), sourceSignature(both, { service: 'a', severity: 'warning' }), 'a source that is also a target is not alike (two-sided exclusion)');
  assert.equal(sourceSignature(rules, { service: 'a', severity: 'critical', pod: 'x' }), sourceSignature(rules, { service: 'a', severity: 'critical', pod: 'y' }));
});
