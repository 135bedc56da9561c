/**
 * `vigil ingest` as it is deployed: its own process, configured by a file. Alertmanager
 * webhooks for one group get 202s that name the incident; a batch within the group's
 * routing lease is handed over from the lease (a signal) and reaches the same incident, and
 * one whose group has ended since is started again with it (signalWithStart); /readyz is 200.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { AcceptedBody } from '../src/ingest/server.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { groupIdFor } from '../src/temporal/temporal-alert-sink.js';
import { groupStatusQuery, statusQuery } from '../workflows/messages.js';
import { amWebhook, fingerprintOf, poll } from './support/aggregation-harness.js';
import { startTestWorker, tempDir, testClient, testConfig } from './support/temporal.js';

installTemporalRuntime();

const VIGIL = fileURLToPath(new URL('../bin/vigil.js', import.meta.url));

/** Starts `vigil ingest --config <file> --port 0`; resolves with its URL (from its first line). */
async function startIngest(config: Record<string, unknown>): Promise<{ url: string; child: ChildProcess; metrics(): Promise<string> }> {
  const file = join(tempDir('ingest-config'), 'vigil.yaml');
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [VIGIL, 'ingest', '--config', file, '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, VIGIL_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`vigil ingest exited (${code}) before listening: ${out}${err}`)));
  });
  return { url, child, metrics: async () => (await fetch(`${url}/metrics`)).text() };
}

void test('vigil ingest (its own process): 202s name the incident, a leased batch reaches it, a leased batch to a group that ended restarts it', async () => {
  const config = testConfig();
  const worker = await startTestWorker(config);
  const { client, connection } = await testClient();
  const ingest = await startIngest({
    dataDir: config.dataDir,
    temporal: { address: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue },
    ingest: { routingLeaseSeconds: 30 },
    // group_wait long enough that both batches meet the incident before it is diagnosed.
    aggregation: { groupWaitSeconds: 5, groupIntervalSeconds: 1, topologyMergeWindowSeconds: 0 },
  });
  try {
    assert.equal((await fetch(`${ingest.url}/readyz`)).status, 200);
    const key = `{}:{test="${config.temporal.taskQueue}",alertname="HighErrorRate"}`;
    const alert = (i: number) => ({ labels: { alertname: 'HighErrorRate', service: 'checkout', pod: `checkout-${i}`, severity: 'critical' }, startsAt: '2025-06-01T12:00:00Z' });
    const post = async (body: unknown) => {
      const res = await fetch(`${ingest.url}/v1/alerts/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as AcceptedBody };
    };
    // The first asks the group; the second (a group heard from within the lease) asks for a lease; the third goes under it.
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await post(amWebhook(key, [alert(i)])));
    assert.ok(answers.every((a) => a.status === 202), JSON.stringify(answers));
    const ids = new Set(answers.flatMap((a) => a.body.incidents.map((i) => i.id)));
    assert.equal(ids.size, 1, `one incident named: ${[...ids].join(', ')}`);
    const [id] = [...ids];
    assert.match(id ?? '', /^incident-/);
    assert.match(await ingest.metrics(), /^vigil_ingest_batches_delivered_total\{via="lease"\} 1$/m, 'the third batch was answered from the lease');
    const status = await poll(
      'the incident to hold the three alerts',
      async () => {
        const s: IncidentStatus = await client.workflow.getHandle(id ?? '').query(statusQuery);
        return (s.alertsTotal ?? s.alerts.length) === 3 ? s : undefined;
      },
      60_000,
    );
    assert.deepEqual(new Set(status.alerts.map((a) => a.labels['pod'])), new Set(['checkout-0', 'checkout-1', 'checkout-2']));

    // The group ends while ingest still holds its lease: the leased batch (a signal) finds no
    // running group, is handed over with signalWithStart instead, and a new run records it.
    await client.workflow.getHandle(groupIdFor(key)).terminate('test: the group ended under a lease');
    const late = await post(amWebhook(key, [alert(3)]));
    assert.equal(late.status, 202, JSON.stringify(late.body));
    assert.match(await ingest.metrics(), /^vigil_ingest_batches_delivered_total\{via="lease"\} 2$/m, 'answered from the lease');
    const again = await poll('a new run of the group with the late alert', async () => {
      const g = await client.workflow.getHandle(groupIdFor(key)).query(groupStatusQuery);
      return Object.values(g.state.alerts).some((a) => a.fingerprint === fingerprintOf(alert(3).labels)) ? g : undefined;
    });
    assert.equal(again.state.counters.deliveries, 1, 'the new run took the one batch');
  } finally {
    await new Promise<void>((resolve) => {
      ingest.child.once('exit', () => resolve());
      ingest.child.kill('SIGTERM');
    });
    for await (const wf of client.workflow.list({ query: `TaskQueue="${config.temporal.taskQueue}" AND ExecutionStatus="Running"` })) {
      await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('test finished').catch(() => undefined);
    }
    await worker.stop();
    await connection.close();
  }
});
