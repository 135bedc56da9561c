/**
 * An incident harness for end-to-end tests: the built-in simulator over Streamable HTTP,
 * a vigil worker bound to it on its own task queue, and the ingest server handing
 * alerts to Temporal. Everything real; only the durations are short.
 */
import type { Client, Connection, WorkflowHandle } from '@temporalio/client';
import { pino } from 'pino';
import { bindAllCapabilities } from '../../src/config.js';
import { createIngestServer } from '../../src/ingest/server.js';
import type { IncidentSettings, IncidentStatus } from '../../src/schemas/incident.js';
import { startSimulator, type SimulatorHttp } from '../../src/simulator/index.js';
import { TemporalAlertSink } from '../../src/temporal/temporal-alert-sink.js';
import { statusQuery } from '../../workflows/messages.js';
import { startTestWorker, testClient, testConfig } from './temporal.js';
import type { VigilConfig } from '../../src/schemas/config.js';

export const FAST_SETTINGS: Partial<IncidentSettings> = { groupWaitSeconds: 1, metricsStepSeconds: 5 };

export interface IncidentHarness {
  sim: SimulatorHttp;
  client: Client;
  connection: Connection;
  config: VigilConfig;
  ingestUrl: string;
  close(): Promise<void>;
}

export async function startIncidentHarness(
  opts: {
    seed?: number;
    policyFile?: string;
    runbooksDir?: string;
    settings?: Partial<IncidentSettings>;
    inProcessWorker?: boolean;
    /** Replace the tool registry (servers are the simulator's unless given). */
    toolsOverride?: VigilConfig['tools'];
    /** The worker's environment (VIGIL_LLM_*, the embeddings key). @default {} (no LLM) */
    workerEnv?: Record<string, string | undefined>;
    /** More configuration (e.g. `knowledge`). */
    configOverrides?: Record<string, unknown>;
  } = {},
): Promise<IncidentHarness> {
  const sim = await startSimulator({ port: 0, seed: opts.seed ?? 7 });
  const settings = { ...FAST_SETTINGS, ...opts.settings };
  const config = testConfig({
    ...(opts.policyFile ? { policyFile: opts.policyFile } : {}),
    ...(opts.runbooksDir ? { runbooksDir: opts.runbooksDir } : {}),
    tools: {
      servers: [{ name: 'simulator', transport: 'http', url: sim.mcpUrl }],
      capabilities: opts.toolsOverride?.capabilities ?? bindAllCapabilities('simulator'),
    },
    incident: settings,
    ...opts.configOverrides,
  });
  const worker = opts.inProcessWorker === false ? undefined : await startTestWorker(config, opts.workerEnv ? { env: opts.workerEnv } : {});
  const { client, connection } = await testClient();
  const ingest = createIngestServer({
    sink: new TemporalAlertSink(client, connection, { taskQueue: config.temporal.taskQueue, settings }),
    logger: pino({ level: 'silent' }),
  });
  const { url } = await ingest.listen(0, '127.0.0.1');
  return {
    sim,
    client,
    connection,
    config,
    ingestUrl: url,
    close: async () => {
      // Each piece gets a bounded time to stop, so one stuck piece cannot hang the suite.
      for (const [name, stop] of [
        ['ingest', () => ingest.close()],
        ['worker', () => worker?.stop() ?? Promise.resolve()],
        ['client', () => connection.close()],
        ['simulator', () => sim.close()],
      ] as const) {
        await within(20_000, stop(), name);
      }
    },
  };
}

async function within(ms: number, p: Promise<unknown>, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p.catch((err: unknown) => process.stderr.write(`harness: stopping ${what} failed: ${String(err)}\n`)),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        process.stderr.write(`harness: ${what} did not stop within ${ms} ms; moving on\n`);
        resolve();
      }, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** The final status of an incident, waiting for its workflow to exist first (it opens after group_wait). */
export async function incidentResult(client: Client, incidentId: string, timeoutMs = 60_000): Promise<IncidentStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await client.workflow.getHandle(incidentId).describe();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // A stuck incident fails the test in minutes, not at the suite's per-test limit.
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.workflow.getHandle(incidentId).result() as Promise<IncidentStatus>,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => void stuckAt(client, incidentId).then((where) => reject(new Error(`incident ${incidentId} did not finish within 5 minutes; ${where}`))), 300_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where a stuck incident waits: its stage, checkpoint, outcome and last timeline notes, and what Temporal has pending. */
async function stuckAt(client: Client, incidentId: string): Promise<string> {
  const handle = client.workflow.getHandle(incidentId);
  const parts: string[] = [];
  try {
    const s = await handle.query(statusQuery);
    parts.push(`stage ${s.stage}, outcome ${s.outcome ?? '-'}, checkpoint ${JSON.stringify(s.checkpoint ?? null)}`, `timeline: ${s.timeline.slice(-6).map((t) => t.note).join(' | ')}`);
  } catch (err) {
    parts.push(`status query failed: ${(err as Error).message}`);
  }
  try {
    const d = await handle.describe();
    const raw = d.raw;
    parts.push(`pending activities: ${(raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} attempt ${a.attempt} ${a.lastFailure?.message ?? ''}`).join('; ') || 'none'}`);
    parts.push(`pending children: ${(raw.pendingChildren ?? []).map((c) => c.workflowId).join(', ') || 'none'}`);
  } catch (err) {
    parts.push(`describe failed: ${(err as Error).message}`);
  }
  return parts.join('; ');
}

/** Polls the status query until `predicate` holds (or fails after `timeoutMs`). */
export async function waitForStatus(handle: WorkflowHandle, predicate: (s: IncidentStatus) => boolean, timeoutMs = 60_000): Promise<IncidentStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: IncidentStatus | undefined;
  while (Date.now() < deadline) {
    try {
      last = await handle.query(statusQuery);
      if (predicate(last)) return last;
    } catch {
      // not started yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`status never matched; last stage ${last?.stage ?? 'none'}`);
}
