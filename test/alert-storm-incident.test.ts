/**
 * An incident in an alert storm: more alerts than fit in one Temporal payload (2 MiB). It
 * still answers its status query (a bounded list with the true counts), lists every alert
 * through the paged `incident-alerts` query and the CLI, and finishes its pipeline with a
 * report that says how many alerts there were and where all of them are.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Alert } from '../src/schemas/alert.js';
import type { AlertsPage, IncidentStatus } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { decideUpdate, incidentAlertsQuery, statusQuery } from '../workflows/messages.js';
import { incidentResult, startIncidentHarness, waitForStatus, type IncidentHarness } from './support/incident-harness.js';

installTemporalRuntime();
let h: IncidentHarness;
before(async () => {
  h = await startIncidentHarness({ seed: 5 });
});
after(async () => {
  await h.close();
});

const SERVICES = ['frontend', 'checkout', 'payment', 'cart', 'inventory', 'shipping', 'catalog'];
const NAMES = ['HighLatency', 'HighErrorRate', 'PodCrashLooping', 'CPUThrottlingHigh'];
const STORM = 6000;
const PER_SIGNAL = 200;

/** A realistic Alertmanager alert (~600 bytes): one pod of one service; one in ten already resolved. */
function stormAlert(i: number, t0: number): Alert {
  const service = SERVICES[i % SERVICES.length] ?? 'frontend';
  const alertname = NAMES[i % NAMES.length] ?? 'HighLatency';
  const pod = `${service}-7d9f8c6b5-${(i * 7919).toString(36).padStart(5, 'x').slice(-5)}`;
  return {
    fingerprint: (0x10000000000 + i).toString(16).padStart(16, '0'),
    status: i % 10 === 9 ? 'resolved' : 'firing',
    labels: { alertname, service, severity: 'warning', namespace: 'shop-prod', pod, instance: `10.42.${i % 250}.${(i * 13) % 250}:9090`, job: service, env: 'prod', cluster: 'eu-west-1-prod-a', region: 'eu-west-1', team: 'storefront' },
    annotations: {
      summary: `${alertname} on ${service} (${pod})`,
      description: `${alertname} has been firing for more than 2 minutes on ${pod} in shop-prod; p99 and error ratio are above the SLO burn threshold.`,
      runbook_url: `https://runbooks.example.com/${alertname.toLowerCase()}`,
    },
    startsAt: new Date(t0 + i * 10).toISOString(),
    ...(i % 10 === 9 ? { endsAt: new Date(t0 + i * 10 + 60_000).toISOString() } : {}),
    generatorURL: `https://prometheus.example.com/graph?g0.expr=${alertname}%7Bservice%3D%22${service}%22%7D`,
    source: 'alertmanager',
  };
}

void test('an incident of 6,000 alerts answers its status, lists every alert, and closes with a report', async () => {
  const incidentId = `incident-storm-${Date.now()}`;
  const groupKey = `{}:{cluster="eu-west-1-prod-a", t="${Date.now()}"}`;
  const t0 = Date.now() - 120_000;
  const alerts = Array.from({ length: STORM }, (_, i) => stormAlert(i, t0));
  const bytes = JSON.stringify(alerts).length;
  assert.ok(bytes > 3 * 1024 * 1024, `the storm outgrows one payload (${bytes} bytes)`);
  const batches = Array.from({ length: STORM / PER_SIGNAL }, (_, i) => ({ groupKey, deliveryId: `storm-${i}`, alerts: alerts.slice(i * PER_SIGNAL, (i + 1) * PER_SIGNAL) }));

  // Delivered as the alert group does: signals of at most 200 alerts, all within group_wait.
  const [first, ...rest] = batches;
  const handle = await h.client.workflow.signalWithStart('IncidentWorkflow', {
    workflowId: incidentId,
    taskQueue: h.config.temporal.taskQueue,
    args: [{ incidentId, groupKey, alerts: [], settings: { groupWaitSeconds: 15 } }],
    signal: 'alerts',
    signalArgs: [first],
  });
  for (const b of rest) await handle.signal('alerts', b);

  // The status answers, bounded, with the true counts.
  const status = await waitForStatus(handle, (s) => s.alertsTotal === STORM, 60_000);
  assert.equal(status.alerts.length, 500, 'the status lists 500 alerts');
  assert.equal(status.alertsFiring, 5400);
  assert.equal(status.alertsResolved, 600);
  assert.equal(status.alerts[0]?.fingerprint, alerts[0]?.fingerprint, 'the alert that opened the incident comes first');
  assert.ok(status.alerts.slice(1).every((a) => a.status === 'firing'), 'then firing alerts');
  assert.ok(JSON.stringify(status).length < 1024 * 1024, 'the status answer stays far under the payload limit');
  assert.match(status.title, /\(\+5999 more\)/);

  // Every alert, through the paged query, once each, in arrival order.
  const seen: string[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page: AlertsPage = await handle.query(incidentAlertsQuery, { offset, limit: 500 });
    assert.equal(page.alertsTotal, STORM);
    seen.push(...page.alerts.map((a) => a.fingerprint));
    offset = page.nextOffset;
  }
  assert.deepEqual(seen, alerts.map((a) => a.fingerprint));
  await assert.rejects(handle.query(incidentAlertsQuery, { offset: 0, limit: 100_000 }), /limit/, 'a page over 500 is refused with the reason');

  // The pipeline runs through (the activities got bounded inputs); with no fault injected the
  // diagnosis is uncertain and a person is asked: the commander rejects, and the report follows.
  const asked = await waitForStatus(handle, (s) => s.stage === 'checkpoint' || s.stage === 'closed', 240_000);
  if (asked.stage === 'checkpoint') {
    await handle.executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'commander@local', planDigest: asked.checkpoint?.bindingDigest ?? '', reason: 'storm test' }] });
  }
  const final: IncidentStatus = await incidentResult(h.client, incidentId);
  assert.equal(final.stage, 'closed');
  assert.equal(final.alertsTotal, STORM);
  assert.ok(final.candidates.length > 0, 'the diagnosis ran');
  assert.ok(final.report, 'a report was written');
  const md = readFileSync(final.report.markdownPath, 'utf8');
  assert.match(md, /Alerts: 6,000 \(5,400 firing, 600 resolved\); the first 500 listed .*all 6,000 in evidence \S+\/alerts\.json/);
  const ref = final.alertsEvidence?.ref ?? '';
  const stored = JSON.parse(readFileSync(join(h.config.dataDir, 'evidence', ref), 'utf8')) as Alert[];
  assert.deepEqual(stored.map((a) => a.fingerprint), alerts.map((a) => a.fingerprint), 'the evidence store holds every alert');
  const reportJson = JSON.parse(readFileSync(final.report.jsonPath, 'utf8')) as IncidentStatus;
  assert.equal(reportJson.alertsTotal, STORM);
  assert.equal((await handle.query(statusQuery)).stage, 'closed', 'the closed incident still answers its status query');

  // A person sees that the incident is bigger than the list, and can list all of it (the CLI runs
  // asynchronously: this process hosts the worker that answers its queries).
  const vigil = (args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['bin/vigil.js', ...args, '--data-dir', h.config.dataDir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
      );
    });
  const shown = await vigil(['incidents', 'show', incidentId]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /alerts: 6000 \(5400 firing, 600 resolved\), showing 10 of 6000: `vigil incidents alerts incident-storm-\d+` lists all/);
  const listed = await vigil(['incidents', 'alerts', incidentId, '--json']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.equal(new Set((JSON.parse(listed.stdout) as Alert[]).map((a) => a.fingerprint)).size, STORM);
});
