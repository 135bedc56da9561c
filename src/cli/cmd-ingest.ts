/**
 * `vigil ingest`: the alert ingest HTTP server against TEMPORAL_ADDRESS (production). Its
 * client runs over the SDK's native connection (gRPC in the Rust core, off the JS thread):
 * the same calls cost the ingest process less CPU per batch than over grpc-js (BENCHMARKS.md).
 */
import { Client, type ConnectionLike } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createIngestServer, type IngestServer } from '../ingest/server.js';
import { createLogger, type Logger } from '../logger.js';
import type { VigilConfig } from '../schemas/config.js';
import { TemporalAlertSink } from '../temporal/temporal-alert-sink.js';
import { installTemporalRuntime } from '../temporal/runtime.js';
import { int, resolveConfig, str, temporalUnreachable } from './cli-common.js';

/** The ingest server of a configuration: its task queue, auth, body limit, group labels and alert aggregation. */
export function ingestServerFor(config: VigilConfig, deps: { client: Client; connection: Pick<ConnectionLike, 'workflowService'>; logger: Logger }): IngestServer {
  return createIngestServer({
    sink: TemporalAlertSink.fromConfig(deps.client, deps.connection, config),
    logger: deps.logger,
    maxBodyBytes: config.ingest.maxBodyBytes,
    ...(config.ingest.groupBy ? { groupBy: config.ingest.groupBy } : {}),
    auth: { bearerTokens: config.ingest.bearerTokens, hmacSecrets: config.ingest.hmacSecrets },
  });
}

export async function runIngest(v: Record<string, string | boolean | undefined>): Promise<number> {
  const { config } = resolveConfig(v);
  const logger = createLogger({ name: 'vigil-ingest' });
  installTemporalRuntime();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: config.temporal.address });
  } catch (err) {
    throw temporalUnreachable(config, err);
  }
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const server = ingestServerFor(config, { client, connection, logger });
  const { url } = await server.listen(int(v['port'], 'port') ?? config.ingest.port, str(v['host']) ?? config.ingest.host);
  process.stdout.write(`vigil ingest listening on ${url} (Temporal ${config.temporal.address}, task queue ${config.temporal.taskQueue})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await connection.close();
  return 0;
}
