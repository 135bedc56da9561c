/**
 * Records the histories of representative incidents into test/histories/, one per path
 * through IncidentWorkflow (auto-resolved, auto-remediated, approved, rejected,
 * overridden, escalated, compensated, shadow, and the two-phase approved and rejected paths), in the JSON format of
 * `temporal workflow show --output json`. test/replay-histories.test.ts replays them
 * against the current workflow code, so a change that would break running incidents
 * fails CI.
 *
 * Re-record (this command) whenever workflow code changes on purpose, after guarding
 * the change with patched() so that incidents already running keep replaying:
 *
 *   node --import tsx scripts/record-histories.ts [path ...]
 *
 * Everything is real (embedded dev server, simulator over MCP, a vigil worker per path
 * with its own policy); only the durations are short. Incidents are started directly
 * (`IncidentWorkflow` + the `alerts` signal), not through ingest and alert grouping, so
 * the recorded histories are those of the incident and its remediation child alone.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { bindAllCapabilities } from '../src/config.js';
import { historyToJson } from '../src/replay-history/history-json.js';
import type { Alert, AlertBatch, Severity } from '../src/schemas/alert.js';
import type { IncidentInput, IncidentStatus } from '../src/schemas/incident.js';
import type { Policy } from '../src/schemas/policy.js';
import { startSimulator } from '../src/simulator/index.js';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { WORKFLOWS_PATH } from '../src/worker/create-worker.js';
import { alertsSignal, decideUpdate, INCIDENT_WORKFLOW, statusQuery } from '../workflows/messages.js';
import { writePolicy } from '../test/support/policy-files.js';
import { startTestWorker, tempDir, testClient, testConfig } from '../test/support/temporal.js';

const HISTORIES_DIR = fileURLToPath(new URL('../test/histories/', import.meta.url));

interface Path {
  name: string;
  /** What the path shows, for the log. */
  what: string;
  expect: IncidentStatus['outcome'];
  policy: (p: Policy) => void;
  fault?: { kind: string; service: string; failStep?: number };
  severity: Severity;
  runbooks?: () => string;
  /** Drives the incident once it started (decisions, late alerts). */
  drive?: (handle: WorkflowHandle, alert: Alert, groupKey: string) => Promise<void>;
}

const noPerson = (p: Policy) => {
  p.checkpoint.confidenceThreshold = 0;
  p.checkpoint.sampleRate = 0;
};
const uncertain = (p: Policy) => {
  p.checkpoint.confidenceThreshold = 0.999;
  p.checkpoint.sampleRate = 0;
};

async function atCheckpoint(handle: WorkflowHandle): Promise<IncidentStatus> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const s = await handle.query(statusQuery);
      if (s.stage === 'checkpoint' && s.checkpoint?.bindingDigest) return s;
    } catch {
      // not started yet
    }
    if (Date.now() > deadline) throw new Error(`${handle.workflowId} never reached the checkpoint`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A two-step runbook for everything: scale out (undoable), then restart. */
function scaleThenRestart(): string {
  const dir = tempDir('runbooks');
  writeFileSync(
    join(dir, 'scale-then-restart.md'),
    `---
id: scale-then-restart
title: Scale out, then restart
services: ["*"]
priority: 1000
steps:
  - { action: scale, description: Add replicas, replicas: 4 }
  - { action: restart, description: Restart to release the pool }
---
Recorded-history runbook.
`,
  );
  return dir;
}

const PATHS: Path[] = [
  {
    name: 'auto-resolved',
    what: 'the alert resolves during group wait: closed without diagnosis',
    expect: 'auto-resolved',
    policy: noPerson,
    severity: 'P3',
    drive: async (handle, alert, groupKey) => {
      const batch: AlertBatch = { groupKey, deliveryId: 'resolved-1', alerts: [{ ...alert, status: 'resolved', endsAt: new Date().toISOString() }] };
      await handle.signal(alertsSignal, batch);
    },
  },
  {
    name: 'auto-remediated',
    what: 'confident diagnosis, low-risk plan: no checkpoint, restart, verified',
    expect: 'remediated',
    policy: noPerson,
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P2',
  },
  {
    name: 'approved',
    what: 'uncertain diagnosis: a person approves, remediation runs',
    expect: 'remediated',
    policy: uncertain,
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P2',
    drive: async (handle) => {
      const s = await atCheckpoint(handle);
      await handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'oncall@local', planDigest: s.checkpoint?.bindingDigest ?? '', reason: 'pool graphs agree' }] });
    },
  },
  {
    name: 'rejected',
    what: 'uncertain diagnosis: a person rejects, nothing runs',
    expect: 'rejected',
    policy: uncertain,
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P2',
    drive: async (handle) => {
      await atCheckpoint(handle);
      await handle.executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'oncall@local', reason: 'a deploy is in progress' }] });
    },
  },
  {
    name: 'overridden',
    what: 'uncertain diagnosis: a person overrides the root cause, the plan follows, remediation runs',
    expect: 'remediated',
    policy: uncertain,
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P2',
    drive: async (handle) => {
      await atCheckpoint(handle);
      await handle.executeUpdate(decideUpdate, {
        args: [{ kind: 'override', actor: 'oncall@local', rootCauseService: 'payment', rootCauseIndicator: 'db_connections_in_use', reason: 'the pool is exhausted' }],
      });
    },
  },
  {
    name: 'escalated',
    what: 'P0 nobody answers: escalated along the chain, then the safe default',
    expect: 'escalated-no-decision',
    policy: (p) => {
      p.checkpoint.sampleRate = 0;
      p.escalation.chain = [
        { role: 'incident-commander', afterSeconds: 1 },
        { role: 'engineering-manager', afterSeconds: 1 },
      ];
    },
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P0',
  },
  {
    name: 'compensated',
    what: 'the second step fails: the first (scale) is undone',
    expect: 'remediation-failed',
    policy: (p) => {
      noPerson(p);
      p.checkpoint.approvalRisk = ['critical'];
      p.autonomy.default = 'bounded';
      p.autonomy.limits = { maxRisk: 'high', actions: ['restart', 'scale', 'set_flag', 'rollback'] };
      p.remediation = { ...p.remediation, actionTimeoutSeconds: 5, actionRetry: { initialIntervalSeconds: 1, maximumAttempts: 2 }, compensationRetry: { initialIntervalSeconds: 1, maximumAttempts: 3 } };
    },
    fault: { kind: 'db-pool-exhaustion', service: 'payment', failStep: 2 },
    severity: 'P2',
    runbooks: scaleThenRestart,
  },
  {
    name: 'two-phase-approved',
    what: 'a high-risk rollback is prepared before the checkpoint, approved (bound to the preparation), then committed',
    expect: 'remediated',
    policy: noPerson,
    fault: { kind: 'bad-release', service: 'payment' },
    severity: 'P2',
    drive: async (handle) => {
      const s = await atCheckpoint(handle);
      await handle.executeUpdate(decideUpdate, { args: [{ kind: 'approve', actor: 'oncall@local', planDigest: s.checkpoint?.bindingDigest ?? '', reason: 'the deploy lines up' }] });
    },
  },
  {
    name: 'two-phase-rejected',
    what: 'a high-risk rollback is prepared, then rejected: the preparation is released, nothing is committed',
    expect: 'rejected',
    policy: noPerson,
    fault: { kind: 'bad-release', service: 'payment' },
    severity: 'P2',
    drive: async (handle) => {
      await atCheckpoint(handle);
      await handle.executeUpdate(decideUpdate, { args: [{ kind: 'reject', actor: 'oncall@local', reason: 'a fix-forward is ready' }] });
    },
  },
  {
    name: 'shadow',
    what: 'shadow autonomy: diagnosed and planned, never executed',
    expect: 'shadow',
    policy: (p) => {
      noPerson(p);
      p.autonomy.default = 'shadow';
    },
    fault: { kind: 'db-pool-exhaustion', service: 'payment' },
    severity: 'P2',
  },
];

async function injectFault(controlUrl: string, fault: NonNullable<Path['fault']>, startedAt: number): Promise<string> {
  const res = await fetch(`${controlUrl}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ kind: fault.kind, service: fault.service, startedAt, ...(fault.failStep ? { failStep: fault.failStep } : {}) }),
  });
  if (res.status !== 201) throw new Error(`simulator refused the fault: ${await res.text()}`);
  return String(((await res.json()) as { faultId?: unknown }).faultId);
}

/** Runs one path to its end; returns the workflow ids whose histories to keep (incident first). */
async function recordPath(client: Client, path: Path, seed: number): Promise<{ ids: string[]; status: IncidentStatus }> {
  const sim = await startSimulator({ port: 0, seed });
  const config = testConfig({
    policyFile: writePolicy((p) => {
      p.version = `recorded-${path.name}`;
      path.policy(p);
    }),
    ...(path.runbooks ? { runbooksDir: path.runbooks() } : {}),
    tools: { servers: [{ name: 'simulator', transport: 'http', url: sim.mcpUrl }], capabilities: bindAllCapabilities('simulator') },
  });
  const worker = await startTestWorker(config);
  try {
    const startedAt = Math.floor(Date.now() / 1000 - 90);
    const faultId = path.fault ? await injectFault(sim.controlUrl, path.fault, startedAt) : 'none';
    const service = path.fault?.service ?? 'payment';
    const alertname = 'HighErrorRate';
    const alert: Alert = {
      fingerprint: createHash('sha256').update(`${path.name}:${faultId}`).digest('hex').slice(0, 16),
      status: 'firing',
      labels: { alertname, service, severity: path.severity.toLowerCase(), env: 'simulated' },
      annotations: { summary: `${service} error rate above SLO`, description: `Recorded history: ${path.what}.` },
      startsAt: new Date((startedAt + 15) * 1000).toISOString(),
      source: 'simulator',
    };
    const incidentId = `recorded-${path.name}`;
    const groupKey = `{}:{alertname="${alertname}", service="${service}", path="${path.name}"}`;
    const input: IncidentInput = { incidentId, groupKey, alerts: [], settings: { groupWaitSeconds: 1, metricsStepSeconds: 5 } };
    const handle = await client.workflow.signalWithStart(INCIDENT_WORKFLOW, {
      workflowId: incidentId,
      taskQueue: config.temporal.taskQueue,
      args: [input],
      signal: alertsSignal,
      signalArgs: [{ groupKey, deliveryId: 'delivery-1', alerts: [alert] }],
    });
    await path.drive?.(handle, alert, groupKey);
    const status = (await handle.result()) as IncidentStatus;
    if (status.outcome !== path.expect) throw new Error(`${path.name}: expected outcome ${path.expect}, got ${status.outcome}: root cause ${status.rootCause?.service ?? 'none'}, plan ${status.plan?.summary ?? 'none'}, ${status.saga?.summary ?? ''}`);
    const history = await handle.fetchHistory();
    const children = (history.events ?? []).flatMap((e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? []);
    return { ids: [incidentId, ...children], status };
  } finally {
    await worker.stop();
    await sim.close();
  }
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((n) => !PATHS.some((p) => p.name === n));
  if (unknown.length) throw new Error(`unknown path(s) ${unknown.join(', ')}; known: ${PATHS.map((p) => p.name).join(', ')}`);
  const selected = only.length ? PATHS.filter((p) => only.includes(p.name)) : PATHS;

  installTemporalRuntime();
  const server = await startDevServer({ log: (l) => process.stderr.write(`${l}\n`) });
  const work = tempDir('record-histories');
  process.env['TEMPORAL_ADDRESS'] = server.address;
  process.env['TEMPORAL_NAMESPACE'] = server.namespace;
  process.env['VIGIL_TEST_TMP'] = work;
  const bundlePath = join(work, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined })).code);
  process.env['VIGIL_TEST_WORKFLOW_BUNDLE'] = bundlePath;

  const { client, connection } = await testClient();
  mkdirSync(HISTORIES_DIR, { recursive: true });
  try {
    // The paths run side by side (each has its own worker, task queue, simulator and policy).
    const runs = await Promise.allSettled(
      selected.map(async (path) => {
        const t0 = Date.now();
        const { ids, status } = await recordPath(client, path, 100 + PATHS.indexOf(path));
        for (const name of readdirSync(HISTORIES_DIR)) if (name.startsWith(`${path.name}.`)) rmSync(join(HISTORIES_DIR, name));
        const incidentId = ids[0] ?? '';
        for (const id of ids) {
          const history = await client.workflow.getHandle(id).fetchHistory();
          const file = join(HISTORIES_DIR, id === incidentId ? `${path.name}.json` : `${path.name}.${id.slice(incidentId.length + 1)}.json`);
          writeFileSync(file, `${JSON.stringify(historyToJson(history), null, 1)}\n`);
          process.stdout.write(`${path.name}: ${id} → ${file} (${history.events?.length ?? 0} events)\n`);
        }
        process.stdout.write(`${path.name}: ${status.outcome} in ${((Date.now() - t0) / 1000).toFixed(1)}s — ${path.what}\n`);
      }),
    );
    const failed = runs.flatMap((r, i) => (r.status === 'rejected' ? [`${selected[i]?.name ?? '?'}: ${(r.reason as Error).message}`] : []));
    if (failed.length) throw new Error(`not recorded:\n${failed.join('\n')}`);
  } finally {
    await connection.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
