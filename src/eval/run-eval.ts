/**
 * `vigil eval`: every case of a dataset through the real incident workflow on a
 * Temporal server, diagnosed from its recorded telemetry as if live.
 *
 * Design: `concurrency` slots run cases side by side. A slot is a replay MCP server
 * (Streamable HTTP) whose case is swapped between incidents, and a stock vigil worker
 * (createVigilWorker) on the slot's own task queue whose tool registry points at that
 * server; the slot runs its cases one after another. One ingest server (the real one)
 * takes each case's alert as an Alertmanager v4 webhook and hands it to Temporal with
 * a sink that routes the case's alert group to its slot's task queue with the case's
 * incident settings. Cases are diagnosed under a shadow policy (they end after
 * planning, nothing is acted on) and independently: a slot's evidence and reports are
 * cleared between cases, so no past incident of the run influences the next.
 * truth.json is read only after every workflow has finished, for scoring.
 */
import { z } from 'zod';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, WorkflowFailedError, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { PACKAGE_ROOT } from '../config.js';
import { createIngestServer, type IngestServer } from '../ingest/server.js';
import type { AcceptedBody } from '../ingest/server.js';
import { BaselinePlacement, ReplayModel } from '../replay/replay-model.js';
import { startReplayHttp, type ReplayHttp } from '../replay/http-server.js';
import { BASELINE_CAPABILITIES, CAPABILITY_TOOLS, type Capability } from '../schemas/capabilities.js';
import { VigilConfig } from '../schemas/config.js';
import type { IncidentStatus } from '../schemas/incident.js';
import { reportFileBase } from '../report/report-store.js';
import { createVigilWorker, WORKFLOWS_PATH, type VigilWorker } from '../worker/create-worker.js';
import { bundleWorkflowsTo } from './bundle-workflows.js';
import { alertmanagerWebhook, incidentSettingsFor } from './case-alert.js';
import { openDataset, readTruth, type Dataset, type PublishedResult } from './dataset.js';
import { childrenPeakRss, processPeakRss, selfPeakRss } from './peak-memory.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from './embedded-temporal.js';
import { groupIdFor } from '../temporal/temporal-alert-sink.js';
import type { AggregationSettingsInput } from '../aggregation/settings.js';
import { CaseRoutingSink } from './routing-sink.js';
import { accuracy, accuracyByFaultType, calibration, type Accuracy, type Calibration, type ScoredCase } from './scoring.js';

/** The shadow policy recorded incidents are diagnosed under. */
export const EVAL_POLICY_FILE = join(PACKAGE_ROOT, 'config', 'policy.eval.yaml');

/**
 * Alert aggregation for recorded cases: each case is its own group, opened at once,
 * never merged with another case's alerts by topology, and closed soon after its
 * incident (nothing to deduplicate against later).
 */
const EVAL_AGGREGATION: AggregationSettingsInput = { groupWaitSeconds: 0, topologyMergeWindowSeconds: 0, dedupRetentionSeconds: 1, idleCloseSeconds: 1 };

/** How long the aggregation may take to start the incident workflow it named. */
const INCIDENT_START_TIMEOUT_MS = 60_000;

/** Capabilities a replay server serves (remediation tools are not bound: nothing may act). */
const READ_CAPABILITIES: Capability[] = ['metrics.query_range', 'logs.search', 'traces.search', 'topology.get'];

/**
 * How a case's baseline/ reaches the workflow: `separate` (the default) serves it
 * through the baseline capabilities (metrics.baseline, traces.baseline) and the case
 * window alone through the query tools, as a live system with a reference period
 * would; the other modes are replay placements (BaselinePlacement) of baseline/ data
 * inside the query tools' results, with no baseline capability bound.
 */
export const EvalBaseline = z.enum(['separate', ...BaselinePlacement.options]);
export type EvalBaseline = z.infer<typeof EvalBaseline>;

export interface EvalOptions {
  /** The dataset folder (dataset.json, cases/<id>/). */
  datasetDir: string;
  /** Cases diagnosed at the same time (one worker and replay server each). @default 4 */
  concurrency?: number;
  /** Only the first N cases (sorted by id). */
  limit?: number;
  /** A running Temporal server; absent: an embedded dev server in memory. */
  temporalAddress?: string;
  /** @default 'default' */
  namespace?: string;
  /** How baseline/ data reaches the workflow (EvalBaseline). @default 'separate' */
  baseline?: EvalBaseline;
  /** @default config/policy.eval.yaml (autonomy shadow) */
  policyFile?: string;
  /** A pre-built workflow bundle (tests); absent: bundled once for the run. */
  workflowBundlePath?: string;
  /** Keep each case's evidence and report under <keepDir>/<case-id>/; absent: discarded. */
  keepDir?: string;
  /** A case whose workflow has not finished by then is terminated and counted as failed. @default 600_000 */
  caseTimeoutMs?: number;
  /** Called after every case. */
  onProgress?: (p: EvalProgress) => void;
  /** Called with a short note at each setup step (starting Temporal, bundling, starting workers). */
  onStatus?: (note: string) => void;
  /** @default silent */
  logger?: Logger;
}

export interface EvalProgress {
  done: number;
  failed: number;
  total: number;
  caseId: string;
  ok: boolean;
  elapsedMs: number;
}

/** One case in results.json (../shared/datasets/score.py reads `id` and `ranking`). */
export interface CaseResult {
  id: string;
  ranking: { service: string; score: number }[];
  /** The reasoner's confidence in the top candidate; null when the case failed. */
  confidence: number | null;
  duration_ms: number;
  /** The root cause the reasoner concluded (null: none) and which reasoner decided. */
  root_cause?: string | null;
  reasoner?: string;
  outcome?: string | null;
  missing_sources?: string[];
  /** Why the case failed (its ranking is then empty and it scores as a miss). */
  error?: string;
}

export interface EvalSummary {
  dataset: string;
  datasetDir: string;
  casesTotal: number;
  casesRun: number;
  casesFailed: number;
  /** Cases with a truth.json (scored). */
  casesScored: number;
  /** Cases whose workflow recorded a source as missing (a tool failed). */
  casesWithMissingSources: number;
  /** Cases per reasoner that concluded (builtin, or an LLM model when VIGIL_LLM_* is set). */
  reasoners: Record<string, number>;
  accuracy: Accuracy | null;
  byFaultType: Record<string, Accuracy> | null;
  calibration: Calibration | null;
  wallSeconds: number;
  /** Of wallSeconds: starting Temporal, bundling the workflows, starting the workers. */
  setupSeconds: number;
  /** Cases run per minute of wall time (setup included). */
  casesPerMinute: number;
  /** Peak resident memory: this process (workers, replay servers, ingest) and the embedded Temporal server. */
  peakRssBytes: { eval: number; temporal: number | null };
  concurrency: number;
  baseline: EvalBaseline;
  temporal: { address: string; embedded: boolean };
  published: PublishedResult[];
  failures: { id: string; error: string }[];
  startedAt: string;
  vigilCommit: string | null;
}

export interface EvalRun {
  /** results.json: `{ dataset, cases: [...] }`. */
  results: { dataset: string; cases: CaseResult[] };
  summary: EvalSummary;
}

interface Slot {
  index: number;
  taskQueue: string;
  dir: string;
  replay: ReplayHttp;
  current: ReplayModel | undefined;
  worker: VigilWorker;
  running: Promise<void>;
  died: Promise<never>;
}

/** Thrown when the run cannot start: Temporal unreachable or not startable, workflow code not bundled. */
export class EvalSetupError extends Error {
  override readonly name = 'EvalSetupError';
}

/** Runs one setup step; its failure becomes an EvalSetupError whose message says which step failed. */
async function setup<T>(what: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new EvalSetupError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function gitCommit(): string | null {
  const r = spawnSync('git', ['-C', PACKAGE_ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['-C', PACKAGE_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' });
  return `${r.stdout.trim()}${dirty.status === 0 && dirty.stdout.trim() ? '+dirty' : ''}`;
}

function errorText(err: unknown): string {
  if (err instanceof WorkflowFailedError) return `workflow failed: ${(err.cause as Error | undefined)?.message ?? err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The incident's final status, once the aggregation has started its workflow. */
async function incidentResult(client: Client, incidentId: string): Promise<IncidentStatus> {
  const handle = client.workflow.getHandle(incidentId);
  const deadline = Date.now() + INCIDENT_START_TIMEOUT_MS;
  for (;;) {
    try {
      await handle.describe();
      break;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      if (Date.now() > deadline) throw new Error(`incident ${incidentId} was named but not started within ${INCIDENT_START_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return (await handle.result()) as IncidentStatus;
}

async function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void onTimeout().finally(() => reject(new Error(`no result within ${Math.round(ms / 1000)} s: workflow terminated`)));
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every case of the dataset (or the first `limit`) through the incident workflow and scores the rankings. */
export async function runEval(options: EvalOptions): Promise<EvalRun> {
  const dataset: Dataset = await openDataset(options.datasetDir);
  const ids = options.limit !== undefined ? dataset.caseIds.slice(0, Math.max(0, options.limit)) : dataset.caseIds;
  const concurrency = Math.max(1, Math.min(options.concurrency ?? 4, ids.length || 1));
  const baseline = options.baseline ?? 'separate';
  const placement: BaselinePlacement = baseline === 'separate' ? 'off' : baseline;
  const capabilities = baseline === 'separate' ? [...READ_CAPABILITIES, ...BASELINE_CAPABILITIES] : READ_CAPABILITIES;
  const policyFile = options.policyFile ?? EVAL_POLICY_FILE;
  const caseTimeoutMs = options.caseTimeoutMs ?? 600_000;
  const logger = options.logger ?? pino({ level: 'silent' });
  const namespace = options.namespace ?? 'default';
  const runId = randomUUID().slice(0, 8);
  const startedAt = new Date();
  const t0 = Date.now();

  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => logger.warn({ err }, 'eval cleanup step failed'));
  };
  const results: CaseResult[] = new Array<CaseResult>(ids.length);
  let dev: EmbeddedTemporal | undefined;
  let temporalPeak: number | null = null;
  let setupSeconds = 0;
  try {
    const runDir = await mkdtemp(join(tmpdir(), 'vigil-eval-'));
    // Removed at the end, or when the process exits first (Ctrl-C exits through process.exit).
    const removeRunDir = () => rmSync(runDir, { recursive: true, force: true });
    process.once('exit', removeRunDir);
    cleanups.push(async () => {
      process.off('exit', removeRunDir);
      await rm(runDir, { recursive: true, force: true });
    });

    let address = options.temporalAddress;
    const say = options.onStatus ?? (() => undefined);
    if (!address) {
      say('starting an embedded Temporal dev server');
      dev = await setup('cannot start the embedded Temporal dev server', () => startEmbeddedTemporal({ namespace }));
      address = dev.address;
      const d = dev;
      cleanups.push(() => d.stop());
    }
    const at = address;
    const connection = await setup(`cannot reach Temporal at ${at}`, () => Connection.connect({ address: at, connectTimeout: '10s' }));
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace });
    const native = await setup(`cannot reach Temporal at ${at}`, () => NativeConnection.connect({ address: at }));
    cleanups.push(() => native.close());

    let bundlePath = options.workflowBundlePath;
    if (!bundlePath) {
      bundlePath = join(runDir, 'workflow-bundle.js');
      say('bundling the workflow code');
      const out = bundlePath;
      await setup('cannot bundle the workflow code', () => bundleWorkflowsTo(WORKFLOWS_PATH, out));
    }

    const sink = new CaseRoutingSink(client, connection);
    const ingest: IngestServer = createIngestServer({ sink, logger: logger.child({ component: 'ingest' }) });
    const { url: ingestUrl } = await ingest.listen(0, '127.0.0.1');
    cleanups.push(() => ingest.close());

    say(`starting ${concurrency} worker(s) and replay server(s)`);
    const slots: Slot[] = [];
    for (let i = 0; i < concurrency; i++) {
      const slot = { index: i, taskQueue: `vigil-eval-${runId}-${i}`, dir: join(runDir, `slot-${i}`), current: undefined } as Slot;
      slot.replay = await startReplayHttp({ model: () => slot.current, logger: logger.child({ component: 'replay', slot: i }) });
      cleanups.push(() => slot.replay.close());
      const config = VigilConfig.parse({
        dataDir: slot.dir,
        policyFile,
        temporal: { address, namespace, taskQueue: slot.taskQueue },
        tools: {
          servers: [{ name: 'replay', transport: 'http', url: slot.replay.mcpUrl }],
          capabilities: Object.fromEntries(capabilities.map((c) => [c, { server: 'replay', tool: CAPABILITY_TOOLS[c] }])),
        },
        incident: {},
      });
      const bundle = bundlePath;
      slot.worker = await setup('cannot start a worker', () => createVigilWorker(config, { connection: native, workflowBundlePath: bundle, identity: `vigil-eval-${runId}-${i}` }));
      slot.running = slot.worker.run();
      slot.died = slot.running.then(
        () => Promise.reject(new Error(`worker of slot ${i} stopped`)),
        (err: unknown) => Promise.reject(new Error(`worker of slot ${i} failed: ${errorText(err)}`)),
      );
      slot.died.catch(() => undefined);
      cleanups.push(async () => {
        slot.worker.shutdown();
        await slot.running.catch(() => undefined);
      });
      slots.push(slot);
    }

    const runCase = async (slot: Slot, id: string): Promise<CaseResult> => {
      const started = Date.now();
      const groupKey = `{}/{vigil_eval="${runId}"}:{case=${JSON.stringify(id)}}`;
      try {
        const model = await ReplayModel.open(dataset.caseDir(id), { baseline: placement });
        await model.load();
        slot.current = model;
        sink.route(groupKey, { taskQueue: slot.taskQueue, settings: await incidentSettingsFor(model), aggregation: EVAL_AGGREGATION });
        const res = await fetch(`${ingestUrl}/v1/alerts/alertmanager`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(alertmanagerWebhook(model.alert, groupKey)),
        });
        const text = await res.text();
        if (res.status !== 202) throw new Error(`ingest answered ${res.status}: ${text.slice(0, 300)}`);
        const incidentId = (JSON.parse(text) as AcceptedBody).incidents[0]?.id;
        if (!incidentId) throw new Error('ingest accepted the alert but named no incident');
        if (incidentId === groupIdFor(groupKey)) throw new Error('the alert aggregation suppressed the alert: no incident was opened');
        const status = await withTimeout(Promise.race([incidentResult(client, incidentId), slot.died]), caseTimeoutMs, async () => {
          await client.workflow.getHandle(incidentId).terminate('vigil eval: case timeout').catch(() => undefined);
        });
        await keepOrDiscard(slot, id, incidentId, options.keepDir);
        return {
          id,
          ranking: status.candidates.map((c) => ({ service: c.service, score: c.score })),
          confidence: status.inference?.confidence ?? 0,
          duration_ms: Date.now() - started,
          root_cause: status.inference?.rootCause?.service ?? null,
          ...(status.inference ? { reasoner: status.inference.reasoner } : {}),
          outcome: status.outcome,
          ...(status.missingSources.length > 0 ? { missing_sources: status.missingSources } : {}),
        };
      } finally {
        sink.unroute(groupKey);
        slot.current = undefined;
        groups.push(groupIdFor(groupKey));
      }
    };

    /** The alert-group workflows of the run's cases (they close by themselves once idle). */
    const groups: string[] = [];
    setupSeconds = (Date.now() - t0) / 1000;
    let next = 0;
    let done = 0;
    let failed = 0;
    await Promise.all(
      slots.map(async (slot) => {
        for (;;) {
          const i = next++;
          const id = ids[i];
          if (id === undefined) return;
          const started = Date.now();
          let result: CaseResult;
          try {
            result = await runCase(slot, id);
          } catch (err) {
            result = { id, ranking: [], confidence: null, duration_ms: Date.now() - started, error: errorText(err) };
            logger.warn({ case: id, err }, 'case failed');
            await resetSlotData(slot).catch(() => undefined);
          }
          results[i] = result;
          done++;
          if (result.error) failed++;
          options.onProgress?.({ done, failed, total: ids.length, caseId: id, ok: !result.error, elapsedMs: Date.now() - t0 });
        }
      }),
    );
    if (dev) temporalPeak = dev.pid !== undefined ? processPeakRss(dev.pid) : childrenPeakRss();
    else await closeGroups(client, groups);
  } finally {
    await cleanup();
  }
  const wallSeconds = (Date.now() - t0) / 1000;

  // ---- scoring: truth is read only now, after every workflow has finished ----
  const scored: ScoredCase[] = [];
  for (const r of results) {
    const truth = await readTruth(dataset.caseDir(r.id));
    if (!truth) continue;
    scored.push({
      id: r.id,
      ranking: r.ranking.map((x) => x.service),
      truth: truth.service,
      faultType: truth.fault_type,
      confidence: r.confidence,
      ...(r.error ? {} : { rootCause: r.root_cause ?? null }),
    });
  }
  const failures = results.filter((r) => r.error).map((r) => ({ id: r.id, error: r.error ?? '' }));
  const summary: EvalSummary = {
    dataset: dataset.name,
    datasetDir: dataset.dir,
    casesTotal: dataset.caseIds.length,
    casesRun: results.length,
    casesFailed: failures.length,
    casesScored: scored.length,
    casesWithMissingSources: results.filter((r) => (r.missing_sources?.length ?? 0) > 0).length,
    reasoners: results.reduce<Record<string, number>>((acc, r) => (r.reasoner ? { ...acc, [r.reasoner]: (acc[r.reasoner] ?? 0) + 1 } : acc), {}),
    accuracy: scored.length ? accuracy(scored) : null,
    byFaultType: scored.length ? accuracyByFaultType(scored) : null,
    calibration: scored.length ? calibration(scored) : null,
    wallSeconds,
    setupSeconds,
    casesPerMinute: wallSeconds > 0 ? (results.length / wallSeconds) * 60 : 0,
    peakRssBytes: { eval: selfPeakRss(), temporal: temporalPeak },
    concurrency,
    baseline,
    temporal: { address: options.temporalAddress ?? 'embedded dev server (in memory)', embedded: !options.temporalAddress },
    published: dataset.info.published_results,
    failures,
    startedAt: startedAt.toISOString(),
    vigilCommit: gitCommit(),
  };
  return { results: { dataset: dataset.name, cases: results }, summary };
}

/**
 * On a Temporal server that outlives the run: waits briefly for the cases' alert groups
 * to close by themselves (idle after their incident), then terminates any still open,
 * so the run leaves nothing running.
 */
async function closeGroups(client: Client, groupIds: readonly string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  let open = [...groupIds];
  while (open.length > 0) {
    const states = await Promise.all(
      open.map(async (id) => {
        try {
          return (await client.workflow.getHandle(id).describe()).status.name === 'RUNNING' ? id : null;
        } catch {
          return null;
        }
      }),
    );
    open = states.filter((id): id is string => id !== null);
    if (open.length === 0 || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  await Promise.all(open.map((id) => client.workflow.getHandle(id).terminate('vigil eval: run finished').catch(() => undefined)));
}

/** Moves the case's evidence and report to keepDir (or drops them), leaving the slot's data dir empty. */
async function keepOrDiscard(slot: Slot, caseId: string, incidentId: string, keepDir: string | undefined): Promise<void> {
  if (keepDir) {
    const dest = join(keepDir, caseId);
    await rm(dest, { recursive: true, force: true });
    await mkdir(dest, { recursive: true });
    const evidence = join(slot.dir, 'evidence', reportFileBase(incidentId));
    await rename(evidence, join(dest, 'evidence')).catch(() => undefined);
    for (const ext of ['json', 'md']) {
      await rename(join(slot.dir, 'reports', `${reportFileBase(incidentId)}.${ext}`), join(dest, `report.${ext}`)).catch(() => undefined);
    }
  }
  await resetSlotData(slot);
}

/** Empties the slot's data dir so the next case sees no past incidents. */
async function resetSlotData(slot: Slot): Promise<void> {
  let entries: string[] = [];
  try {
    entries = await readdir(slot.dir);
  } catch {
    return;
  }
  await Promise.all(entries.map((e) => rm(join(slot.dir, e), { recursive: true, force: true })));
}
