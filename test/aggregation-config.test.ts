/**
 * Alert aggregation settings come from vigil.yaml (`aggregation`, `ingest.groupBy`): the
 * shipped config parses, a bad or misspelt setting is a clear error, and the ingest
 * server `vigil ingest` builds from a config (real Temporal, real worker) groups, waits,
 * inhibits and maps severity the way the file says; a changed file reaches groups that
 * are already running.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { ingestServerFor } from '../src/cli/cmd-ingest.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { labelGroupKey } from '../src/ingest/grouping.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { groupIdFor } from '../src/temporal/temporal-alert-sink.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { groupStatusQuery, statusQuery, type GroupStatus } from '../workflows/messages.js';
import { amWebhook, poll } from './support/aggregation-harness.js';
import { startTestWorker, tempDir, temporalAddress, testClient } from './support/temporal.js';

installTemporalRuntime();

const YAML = `
ingest:
  groupBy: [service]
aggregation:
  groupWaitSeconds: 0
  groupIntervalSeconds: 2
  topologyMergeWindowSeconds: 0
  flapping: { threshold: 9, windowSeconds: 60 }
  inhibitRules:
    - name: database down mutes slow requests
      source_matchers: ['alertname="DbDown"']
      target_matchers: ['alertname="SlowRequests"']
      equal: [service]
  severityMap:
    sev1: P1
`;

void test('the shipped config/vigil.yaml parses, aggregation included', () => {
  const config = loadConfig({ file: 'config/vigil.yaml', env: {} });
  assert.equal(config.aggregation?.groupWaitSeconds, 30);
  assert.equal(config.aggregation?.inhibitRules[0]?.equal.join(','), 'service,namespace');
});

void test('a misspelt or malformed aggregation setting is refused with its path', () => {
  const file = join(tempDir('agg-config'), 'vigil.yaml');
  writeFileSync(file, 'aggregation:\n  group_wait: 10\n  inhibitRules:\n    - source_matchers: ["a=~("]\n      target_matchers: ["b=c"]\n');
  assert.throws(
    () => loadConfig({ file, env: {} }),
    (err: unknown) =>
      err instanceof ConfigError &&
      /Unrecognized key: "group_wait"[\s\S]*at aggregation/.test(err.message) &&
      /bad regex[\s\S]*aggregation\.inhibitRules\[0\]\.source_matchers\[0\]/.test(err.message),
  );
});

void test('vigil ingest groups, waits, inhibits and maps severity as vigil.yaml says', async () => {
  const file = join(tempDir('agg-config'), 'vigil.yaml');
  writeFileSync(file, YAML);
  const config = loadConfig({
    file,
    env: { TEMPORAL_ADDRESS: temporalAddress() },
    overrides: { dataDir: tempDir('data'), temporal: { address: temporalAddress(), taskQueue: `test-agg-config-${Date.now()}` } },
  });
  const worker = await startTestWorker(config);
  const { client, connection } = await testClient();
  const server = ingestServerFor(config, { client, connection, logger: pino({ level: 'silent' }) });
  const { url } = await server.listen(0, '127.0.0.1');
  const post = async (body: unknown) => {
    const res = await fetch(`${url}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { incidents: { id: string; fingerprints: string[] }[] } };
  };
  try {
    // Two webhooks with different Alertmanager group keys: groupBy [service] puts them in one group.
    const db = await post(amWebhook('{}:{alertname="DbDown"}', [{ labels: { alertname: 'DbDown', service: 'orders', severity: 'sev1' } }]));
    assert.equal(db.status, 202);
    const incidentId = db.body.incidents[0]?.id ?? '';
    assert.match(incidentId, /^incident-/);
    const slow = await post(amWebhook('{}:{alertname="SlowRequests"}', [{ labels: { alertname: 'SlowRequests', service: 'orders', severity: 'warning' } }]));
    const groupKey = labelGroupKey({ labels: { service: 'orders' } }, ['service']);
    assert.deepEqual(slow.body.incidents.map((i) => i.id), [groupIdFor(groupKey)], 'inhibited by the configured rule: no incident');

    const group: GroupStatus = await client.workflow.getHandle(groupIdFor(groupKey)).query(groupStatusQuery);
    assert.equal(group.settings.groupWaitSeconds, 0);
    assert.equal(group.settings.groupIntervalSeconds, 2);
    assert.equal(group.settings.flapping.threshold, 9);
    assert.equal(group.state.suppressions[0]?.reason, 'inhibited');
    assert.match(group.state.suppressions[0]?.detail ?? '', /database down mutes slow requests/);

    // group_wait 0: the incident already runs; severity from the configured map (sev1 → P1).
    const status = await poll('the incident', async () => {
      const s: IncidentStatus | undefined = await client.workflow.getHandle(incidentId).query(statusQuery).catch(() => undefined);
      return s && s.alerts.length === 1 ? s : undefined;
    });
    assert.equal(status.severity, 'P1');
  } finally {
    await server.close();
    await connection.close();
    await worker.stop();
  }
});

void test('a changed vigil.yaml reaches a running group at its next delivery; without an aggregation section the group wait is incident.groupWaitSeconds', async () => {
  const dir = tempDir('agg-config-change');
  const taskQueue = `test-agg-change-${Date.now()}`;
  const configFrom = (name: string, yaml: string) => {
    const file = join(dir, name);
    writeFileSync(file, yaml);
    return loadConfig({ file, env: { TEMPORAL_ADDRESS: temporalAddress() }, overrides: { dataDir: tempDir('data'), temporal: { address: temporalAddress(), taskQueue } } });
  };
  const before = configFrom('before.yaml', 'ingest:\n  groupBy: [service]\nincident:\n  groupWaitSeconds: 120\n');
  const after = configFrom('after.yaml', `ingest:\n  groupBy: [service]\naggregation:\n  groupWaitSeconds: 5\n  topologyMergeWindowSeconds: 0\n  inhibitRules:\n    - name: database down mutes slow requests\n      source_matchers: ['alertname="DbDown"']\n      target_matchers: ['alertname="SlowRequests"']\n      equal: [service]\n`);
  const worker = await startTestWorker(before);
  const { client, connection } = await testClient();
  const servers = [ingestServerFor(before, { client, connection, logger: pino({ level: 'silent' }) }), ingestServerFor(after, { client, connection, logger: pino({ level: 'silent' }) })];
  const [urlBefore, urlAfter] = await Promise.all(servers.map(async (s) => (await s.listen(0, '127.0.0.1')).url));
  const post = async (url: string | undefined, body: unknown) => {
    const res = await fetch(`${url}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { incidents: { id: string; fingerprints: string[] }[] } };
  };
  const service = `billing-${Date.now()}`;
  const groupKey = labelGroupKey({ labels: { service } }, ['service']);
  const group = client.workflow.getHandle(groupIdFor(groupKey));
  try {
    const first = await post(urlBefore, amWebhook('{}:{alertname="DbDown"}', [{ labels: { alertname: 'DbDown', service, instance: 'a' } }]));
    assert.equal(first.status, 202);
    const incidentId = first.body.incidents[0]?.id ?? '';
    assert.match(incidentId, /^incident-/);
    let status: GroupStatus = await group.query(groupStatusQuery);
    assert.equal(status.settings.groupWaitSeconds, 120, 'no aggregation section: the group waits incident.groupWaitSeconds');
    assert.deepEqual(status.settings.inhibitRules, []);
    assert.equal(status.state.settingsChanges, undefined);

    // The file changed and ingest restarted with it: the same running group adopts the new rule.
    const db = await post(urlAfter, amWebhook('{}:{alertname="DbDown"}', [{ labels: { alertname: 'DbDown', service, instance: 'b' } }]));
    assert.deepEqual(db.body.incidents.map((i) => i.id), [incidentId], 'joins the incident already in group_wait');
    const slow = await post(urlAfter, amWebhook('{}:{alertname="SlowRequests"}', [{ labels: { alertname: 'SlowRequests', service } }]));
    assert.equal(slow.status, 202);
    assert.deepEqual(slow.body.incidents.map((i) => i.id), [groupIdFor(groupKey)], 'inhibited by the rule the new file added');
    status = await group.query(groupStatusQuery);
    assert.equal(status.settings.groupWaitSeconds, 5);
    assert.equal(status.settings.inhibitRules[0]?.name, 'database down mutes slow requests');
    assert.deepEqual(status.state.settingsChanges?.map((c) => [...c.changed].sort()), [['groupWaitSeconds', 'incident', 'inhibitRules', 'topologyMergeWindowSeconds']]);
    assert.match(status.state.suppressions.at(-1)?.detail ?? '', /database down mutes slow requests/);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
    await connection.close();
    await worker.stop();
  }
});
