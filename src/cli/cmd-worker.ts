/**
 * `vigil worker`: one worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (production).
 * Serves vigil's metrics on :9464/metrics and the Temporal SDK's worker metrics on
 * :9465/metrics unless `observability` in the config says otherwise.
 */
import { createLogger } from '../logger.js';
import { TEMPORAL_METRICS_PORT, WORKER_METRICS_PORT } from '../observability/config.js';
import { installTemporalRuntime, temporalMetricsAddress } from '../temporal/runtime.js';
import { createVigilWorker } from '../worker/create-worker.js';
import { resolveConfig } from './cli-common.js';

export async function runWorker(v: Record<string, string | boolean | undefined>): Promise<number> {
  const { config } = resolveConfig(v);
  const logger = createLogger({ name: 'vigil-worker' });
  const obs = config.observability;
  const host = obs?.metricsHost ?? '0.0.0.0';
  const sdkPort = obs?.temporalMetricsPort ?? TEMPORAL_METRICS_PORT;
  // A no-op when src/cli/main.ts installed the runtime first; then $VIGIL_TEMPORAL_METRICS_ADDRESS decides.
  installTemporalRuntime(undefined, sdkPort === false ? {} : { metricsBindAddress: `${host}:${sdkPort}` });
  const worker = await createVigilWorker(config, { observability: { logger, metricsPort: obs?.metricsPort ?? WORKER_METRICS_PORT } });
  logger.info(
    {
      address: config.temporal.address,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      metrics: worker.metricsUrl ?? 'off',
      temporalSdkMetrics: temporalMetricsAddress() ? `http://${temporalMetricsAddress()}/metrics` : 'off',
      tracing: obs?.tracing.exporter ?? 'off',
    },
    'worker started',
  );
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  logger.info('worker stopped');
  return 0;
}
