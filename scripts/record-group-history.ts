// Records an AlertGroupWorkflow history: a group under a routing lease taking leased
// inhibition targets. test/histories/alert-group-before-audit.json was recorded with it at
// 9fd7365 (before AUDIT_LEASED_TARGETS_PATCH, when the group asked the correlator about
// every target), so the replay test keeps groups running since then replayable.
// Run against a dev server: TEMPORAL_ADDRESS=localhost:7233 node --import tsx scripts/record-group-history.ts out.json
import { writeFileSync } from 'node:fs';
import { groupIdFor } from '../src/temporal/temporal-alert-sink.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { historyToJson } from '../src/replay-history/history-json.js';
import { amWebhook, startAggregationHarness } from '../test/support/aggregation-harness.js';

installTemporalRuntime();
const out = process.argv[2] ?? '/tmp/alert-group-leased.json';
const h = await startAggregationHarness(
  { groupWaitSeconds: 1, groupIntervalSeconds: 1, topologyMergeWindowSeconds: 0, inhibitRules: [{ name: 'critical mutes warning', source_matchers: ['severity=critical'], target_matchers: ['severity=warning'], equal: ['service'] }] },
  { routingLeaseSeconds: 30 },
);
try {
  const startedAt = Math.floor(Date.now() / 1000) - 90;
  await fetch(`${h.sim.controlUrl}/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'bad-release', service: 'payment', startedAt }) });
  const startsAt = new Date((startedAt + 15) * 1000).toISOString();
  const key = h.key('alertname="Errors"');
  const mk = (i: number, service = 'frontend', severity = 'critical') => ({ labels: { alertname: 'Errors', service, pod: `${service}-${i}`, severity }, startsAt });
  for (const i of [0, 1, 2]) console.log((await h.post(amWebhook(key, [mk(i)]))).body);
  for (const i of [3, 4]) console.log((await h.post(amWebhook(key, [mk(i, 'cart', 'warning')]))).body);
  console.log(h.batchesVia());
  await h.waitGroup(key, (g) => Object.keys(g.state.alerts).length === 5 && Object.values(g.state.alerts).every((r) => r.incidentId || r.suppressed), 'all routed');
  await new Promise((r) => setTimeout(r, 3000));
  const history = await h.client.workflow.getHandle(groupIdFor(key)).fetchHistory();
  writeFileSync(out, JSON.stringify(historyToJson(history), null, 1));
  console.log('events', history.events?.length, 'activities', history.events?.filter((e) => e.activityTaskScheduledEventAttributes).length);
} finally {
  await h.close();
}
