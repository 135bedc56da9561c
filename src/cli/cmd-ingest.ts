/** `vigil ingest`: the alert ingest HTTP server against TEMPORAL_ADDRESS (production). */
import type { Client, Connection } from '@temporalio/client';
import { createIngestServer, type IngestServer } from '../ingest/server.js';
import { createLogger, type Logger } from '../logger.js';
import type { VigilConfig } from '../schemas/config.js';
import { TemporalAlertSink } from '../temporal/temporal-alert-sink.js';
import { connectClient, int, resolveConfig, str } from './cli-common.js';

/** The ingest server of a configuration: its task queue, auth, body limit, group labels and alert aggregation. */
export function ingestServerFor(config: VigilConfig, deps: { client: Client; connection: Connection; logger: Logger }): IngestServer {
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
  const { client, connection } = await connectClient(config);
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
