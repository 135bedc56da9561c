/**
 * The embedded default stack of `vigil dev` and `npm run demo`: a Temporal dev server on
 * a SQLite file under the data dir (incidents survive a restart; Web UI on), the
 * built-in simulator (MCP over Streamable HTTP), a worker bound to it, and the alert
 * ingest server. Writes <dataDir>/dev.json so other commands find the pieces.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bindAllCapabilities, loadConfig } from '../config.js';
import { createIngestServer } from '../ingest/server.js';
import type { Logger } from '../logger.js';
import type { VigilConfig } from '../schemas/config.js';
import type { IncidentSettings } from '../schemas/incident.js';
import { startSimulator } from '../simulator/index.js';
import { startDevServer, type DevServer } from '../temporal/dev-server.js';
import { TemporalAlertSink } from '../temporal/temporal-alert-sink.js';
import { createVigilWorker } from '../worker/create-worker.js';
import { DevEndpoints } from './dev-endpoints.js';

export interface DevStackOptions {
  dataDir: string;
  logger: Logger;
  /** Persist Temporal state in <dataDir>/temporal.db. @default true */
  persist?: boolean;
  temporalPort?: number;
  uiPort?: number;
  ingestPort?: number;
  simulatorPort?: number;
  /** The worker's GET /metrics port (0 = any free port, false = off). @default 0 */
  metricsPort?: number | false;
  seed?: number;
  settings?: Partial<IncidentSettings>;
  /** Alert aggregation and group labels (from a vigil.yaml given to `vigil dev --config`). */
  aggregation?: VigilConfig['aggregation'];
  groupBy?: string[];
  policyFile?: string;
  log?: (line: string) => void;
}

export interface DevStack {
  endpoints: DevEndpoints;
  client: Client;
  server: DevServer;
  stop(): Promise<void>;
}

export async function startDevStack(opts: DevStackOptions): Promise<DevStack> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const say = opts.log ?? (() => undefined);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const server = await startDevServer({
      ...(opts.persist === false ? {} : { dbFilename: join(dataDir, 'temporal.db') }),
      ...(opts.temporalPort !== undefined ? { port: opts.temporalPort } : {}),
      ui: true,
      ...(opts.uiPort !== undefined ? { uiPort: opts.uiPort } : {}),
      log: say,
    });
    stops.push(() => server.stop());

    const simulator = await startSimulator({ host: '127.0.0.1', port: opts.simulatorPort ?? 8788, seed: opts.seed ?? 42 });
    stops.push(() => simulator.close());

    const config = loadConfig({
      env: {},
      overrides: {
        dataDir,
        ...(opts.policyFile ? { policyFile: opts.policyFile } : {}),
        temporal: { address: server.address, namespace: server.namespace, taskQueue: 'vigil-incidents', ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}) },
        tools: { servers: [{ name: 'simulator', transport: 'http', url: simulator.mcpUrl }], capabilities: bindAllCapabilities('simulator') },
        incident: opts.settings ?? {},
        ...(opts.aggregation ? { aggregation: opts.aggregation } : {}),
        ...(opts.groupBy ? { ingest: { groupBy: opts.groupBy } } : {}),
      },
    });
    const worker = await createVigilWorker(config, {
      connection: server.env.nativeConnection,
      observability: { logger: opts.logger, metricsPort: opts.metricsPort ?? 0, metricsHost: '127.0.0.1' },
    });
    if (worker.metricsUrl) say(`worker metrics at ${worker.metricsUrl}`);
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });

    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    const ingest = createIngestServer({
      sink: TemporalAlertSink.fromConfig(client, connection, config, opts.settings),
      logger: opts.logger,
      ...(config.ingest.groupBy ? { groupBy: config.ingest.groupBy } : {}),
    });
    const listening = await ingest.listen(opts.ingestPort ?? 8787, '127.0.0.1');
    stops.push(() => ingest.close());

    const endpoints: DevEndpoints = {
      temporalAddress: server.address,
      namespace: server.namespace,
      taskQueue: config.temporal.taskQueue,
      ...(server.uiUrl ? { temporalUiUrl: server.uiUrl } : {}),
      ingestUrl: listening.url,
      simulatorMcpUrl: simulator.mcpUrl,
      simulatorControlUrl: simulator.controlUrl,
      dataDir,
      pid: process.pid,
    };
    writeFileSync(join(dataDir, 'dev.json'), JSON.stringify(endpoints, null, 2));
    stops.unshift(async () => rmSync(join(dataDir, 'dev.json'), { force: true }));
    return { endpoints, client, server, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
