/**
 * Builds a vigil worker: the incident workflows plus their activities wired to the MCP
 * tool gate, the evidence store, the policy and the runbooks of the configuration. Beside
 * it, on the correlator's own task queue (correlatorTaskQueueFor), a small worker for the
 * AlertCorrelatorWorkflow alone: every alert group waits on the correlator, so its
 * workflow tasks must not queue behind a storm's backlog of group tasks.
 */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { KILL_SWITCH_WORKFLOW_ID, killSwitchQuery } from '../../workflows/messages.js';
import { createActivities } from '../../activities/index.js';
import { createLlmProvider, loadLlmConfig } from '../llm/index.js';
import { createAuditActivities } from '../audit/audit-activities.js';
import { createAggregationActivities } from '../aggregation/aggregation-activities.js';
import { correlatorTaskQueueFor } from '../aggregation/correlation.js';
import { ClientCalls } from '../temporal/client-calls.js';
import { openAuditStore } from '../audit/open-audit-store.js';
import { openKnowledge } from '../knowledge/open-knowledge.js';
import { DEFAULT_POLICY_FILE, DEFAULT_RUNBOOKS_DIR } from '../config.js';
import { EvidenceStore } from '../evidence/evidence-store.js';
import { McpClientPool } from '../mcp/mcp-client-pool.js';
import { ToolGate } from '../mcp/tool-gate.js';
import type { VigilConfig } from '../schemas/config.js';
import { startWorkerObservability, type WorkerObservabilityOptions } from '../observability/worker-observability.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** The correlator worker's limits: it runs one workflow, one update at a time. */
const CORRELATOR_WORKER_OPTIONS = { maxConcurrentWorkflowTaskExecutions: 2, maxCachedWorkflows: 8 } as const;

export interface VigilWorker {
  worker: Worker;
  /** Polls the correlator's task queue (AlertCorrelatorWorkflow only). */
  correlatorWorker: Worker;
  connection: NativeConnection;
  /** Where this worker serves GET /metrics (observability.metricsPort); undefined when off. */
  metricsUrl: string | undefined;
  /** Runs until shutdown() (or a fatal error); closes MCP connections afterwards. */
  run(): Promise<void>;
  shutdown(): void;
}

export async function createVigilWorker(
  config: VigilConfig,
  opts: {
    connection?: NativeConnection;
    workflowBundlePath?: string;
    identity?: string;
    extra?: Partial<WorkerOptions>;
    /** Logger, metrics port override, test span processor (src/observability). */
    observability?: WorkerObservabilityOptions;
    /** Where VIGIL_LLM_* and the embeddings key variable are read. @default process.env */
    env?: Record<string, string | undefined>;
  } = {},
): Promise<VigilWorker> {
  const connection = opts.connection ?? (await NativeConnection.connect({ address: config.temporal.address }));
  const dataDir = resolve(config.dataDir);
  const evidence = new EvidenceStore(join(dataDir, 'evidence'));
  const env = opts.env ?? process.env;
  const llmConfig = loadLlmConfig(env);
  const knowledge = openKnowledge(config.knowledge, dataDir, env);
  // ---- observability (src/observability): /metrics, activity logging, tracing ----
  let obs;
  try {
    obs = await startWorkerObservability(config, { evidence, knowledge: knowledge.store }, opts.observability);
  } catch (err) {
    await knowledge.store.close();
    throw err;
  }
  const pool = new McpClientPool(config.tools.servers);
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({
    connection: clientConnection,
    namespace: config.temporal.namespace,
    ...(obs.clientInterceptors ? { interceptors: obs.clientInterceptors } : {}),
  });
  // Calls of the worker's own client that may outlive their activity: cancelled before the connection closes.
  const calls = new ClientCalls(client);
  const readKillSwitch = async () => {
    try {
      const handle = client.workflow.getHandle(KILL_SWITCH_WORKFLOW_ID);
      // A kill switch that is not running (never started, or terminated) holds nothing.
      if ((await handle.describe()).status.name !== 'RUNNING') return null;
      return await handle.query(killSwitchQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  };
  const audit = await openAuditStore(config.audit, dataDir);
  const gate = new ToolGate(config.tools, pool, evidence);
  const activities = createActivities({
    gate,
    evidence,
    policyFile: config.policyFile ?? DEFAULT_POLICY_FILE,
    runbooksDir: config.runbooksDir ?? DEFAULT_RUNBOOKS_DIR,
    reportsDir: join(dataDir, 'reports'),
    settings: config.incident,
    readKillSwitch,
    knowledge,
    ...(llmConfig ? { llm: { provider: createLlmProvider(llmConfig), config: llmConfig } } : {}),
    namespace: config.temporal.namespace,
    ...(config.temporal.uiUrl ? { temporalUiUrl: config.temporal.uiUrl } : {}),
  });
  let worker: Worker;
  let correlatorWorker: Worker;
  try {
    // One bundle for both workers (the tracing interceptors, when on, bundled in).
    const workflowModules = obs.workerOptions.interceptors?.workflowModules;
    const workflowBundle = opts.workflowBundlePath
      ? { codePath: opts.workflowBundlePath }
      : { code: (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...(workflowModules ? { workflowInterceptorModules: workflowModules } : {}), logger: silentBundleLogger })).code };
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      activities: obs.instrument({ ...activities, ...createAuditActivities(audit), ...createAggregationActivities({ client, calls, gate }) }),
      ...obs.workerOptions,
      workflowBundle,
      ...(opts.identity ? { identity: opts.identity } : {}),
      ...opts.extra,
    });
    correlatorWorker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: correlatorTaskQueueFor(config.temporal.taskQueue),
      ...obs.workerOptions,
      workflowBundle,
      ...CORRELATOR_WORKER_OPTIONS,
      ...(opts.identity ? { identity: `${opts.identity}-correlator` } : {}),
    });
  } catch (err) {
    await obs.close(); // frees the metrics port
    await knowledge.store.close();
    throw err;
  }
  const shutdown = (w: Worker): void => {
    if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    worker,
    correlatorWorker,
    connection,
    metricsUrl: obs.metricsUrl,
    async run() {
      try {
        // Either worker ending (shutdown, or a fatal error) ends the other.
        const outcomes = await Promise.allSettled(
          [worker, correlatorWorker].map((w) =>
            w.run().finally(() => {
              shutdown(worker);
              shutdown(correlatorWorker);
            }),
          ),
        );
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        await pool.close();
        await calls.close();
        await clientConnection.close();
        await audit.close();
        await obs.close(); // stops /metrics before the store it reads closes
        await knowledge.store.close();
      }
    },
    shutdown: () => {
      shutdown(worker);
      shutdown(correlatorWorker);
    },
  };
}

/** Bundling logs go nowhere (a failed bundle throws with its errors). */
const silentBundleLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
