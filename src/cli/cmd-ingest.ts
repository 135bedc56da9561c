/** `vigil ingest`: the alert ingest HTTP server against TEMPORAL_ADDRESS (production). */
import { createIngestServer } from '../ingest/server.js';
import { createLogger } from '../logger.js';
import { TemporalAlertSink } from '../temporal/temporal-alert-sink.js';
import { connectClient, int, resolveConfig, str } from './cli-common.js';

export async function runIngest(v: Record<string, string | boolean | undefined>): Promise<number> {
  const { config } = resolveConfig(v);
  const logger = createLogger({ name: 'vigil-ingest' });
  const { client, connection } = await connectClient(config);
  const server = createIngestServer({
    sink: new TemporalAlertSink(client, connection, { taskQueue: config.temporal.taskQueue }),
    logger,
    maxBodyBytes: config.ingest.maxBodyBytes,
    ...(config.ingest.groupBy ? { groupBy: config.ingest.groupBy } : {}),
    auth: { bearerTokens: config.ingest.bearerTokens, hmacSecrets: config.ingest.hmacSecrets },
  });
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
