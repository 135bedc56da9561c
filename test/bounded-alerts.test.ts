/**
 * The bounded views of an incident's alerts (src/alerts/bounded-alerts.ts): what the status
 * lists, what activities get, and the pages that list every alert.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTIVITY_ALERTS_LIMIT, alertCounts, alertsPage, representativeAlerts, STATUS_ALERTS_LIMIT, statusAlerts } from '../src/alerts/bounded-alerts.js';
import type { Alert } from '../src/schemas/alert.js';
import { AlertsPageRequest } from '../src/schemas/incident.js';
import { alertListing } from '../src/report/render-report.js';

function alert(i: number, over: Partial<Alert> & { labels?: Record<string, string> } = {}): Alert {
  return {
    fingerprint: `fp-${String(i).padStart(5, '0')}`,
    status: 'firing',
    labels: { alertname: 'HighLatency', service: `svc-${i % 7}`, severity: 'warning', pod: `pod-${i}` },
    annotations: {},
    startsAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    source: 'alertmanager',
    ...over,
  };
}

const storm = (n: number): Alert[] => Array.from({ length: n }, (_, i) => alert(i, i % 3 === 0 ? { status: 'resolved' } : {}));

void test('the status lists a bounded selection: the first alert, then firing, most severe, most recent', () => {
  const all = storm(2000);
  all[1500] = alert(1500, { labels: { alertname: 'DatabaseDown', service: 'db', severity: 'critical' } });
  const listed = statusAlerts(all);
  assert.equal(listed.length, STATUS_ALERTS_LIMIT);
  assert.equal(listed[0]?.fingerprint, all[0]?.fingerprint, 'the alert that opened the incident stays first (it names it)');
  assert.equal(listed[1]?.labels['alertname'], 'DatabaseDown', 'the most severe firing alert comes next');
  assert.ok(listed.slice(1).every((a) => a.status === 'firing'), 'firing before resolved');
  const starts = listed.slice(2).map((a) => a.startsAt);
  assert.deepEqual(starts, [...starts].sort().reverse(), 'then the most recent first');
});

void test('a small incident lists every alert', () => {
  const all = storm(12);
  assert.deepEqual(new Set(statusAlerts(all).map((a) => a.fingerprint)), new Set(all.map((a) => a.fingerprint)));
  assert.equal(alertListing({ alerts: statusAlerts(all), ...alertCounts(all) }), undefined, 'the report says nothing about truncation');
});

void test('the counts cover every alert, and the report says how many are listed and where all are', () => {
  const all = storm(10_000);
  const counts = alertCounts(all);
  assert.deepEqual([counts.alertsTotal, counts.alertsFiring, counts.alertsResolved], [10_000, 6666, 3334]);
  assert.deepEqual(counts.alertsBySource, { alertmanager: 10_000 });
  const line = alertListing({ alerts: statusAlerts(all), ...counts, alertsEvidence: { ref: 'inc-1/alerts.json', digest: 'ab'.repeat(32), count: 10_000 } });
  assert.match(line ?? '', /Alerts: 10,000 \(6,666 firing, 3,334 resolved\); the first 500 listed .*all 10,000 in evidence inc-1\/alerts\.json/);
});

void test('activities get a bounded list that keeps every distinct kind of alert', () => {
  const all = storm(5000);
  all[4321] = alert(4321, { labels: { alertname: 'DiskFull', service: 'storage', severity: 'warning' } });
  const chosen = representativeAlerts(all.filter((a) => a.status === 'firing'));
  assert.equal(chosen.length, ACTIVITY_ALERTS_LIMIT);
  assert.ok(chosen.some((a) => a.labels['alertname'] === 'DiskFull'), 'a rare alert kind is not crowded out');
  assert.equal(new Set(chosen.filter((a) => a.labels['alertname'] === 'HighLatency').map((a) => a.labels['service'])).size, 7, 'each alerted service is represented');
  assert.ok(JSON.stringify(chosen).length < 200_000, 'far under the 2 MiB payload limit');
});

void test('paging lists every alert once, in arrival order, with the total', () => {
  const all = storm(1234);
  const seen: string[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page = alertsPage(all, AlertsPageRequest.parse({ offset, limit: 500 }));
    assert.equal(page.alertsTotal, 1234);
    assert.ok(page.alerts.length <= 500);
    seen.push(...page.alerts.map((a) => a.fingerprint));
    offset = page.nextOffset;
  }
  assert.deepEqual(seen, all.map((a) => a.fingerprint));
  assert.deepEqual(alertsPage(all, { offset: 5000, limit: 10 }).alerts, [], 'past the end: an empty last page');
  assert.equal(alertsPage(all, { offset: 5000, limit: 10 }).nextOffset, null);
});

void test('a page request is validated: limit capped at 500, no negative offset', () => {
  assert.equal(AlertsPageRequest.safeParse({ offset: 0, limit: 501 }).success, false);
  assert.equal(AlertsPageRequest.safeParse({ offset: -1, limit: 10 }).success, false);
  assert.equal(AlertsPageRequest.safeParse({ offset: 1.5 }).success, false);
  assert.deepEqual(AlertsPageRequest.parse({}), { offset: 0, limit: 500 });
});
