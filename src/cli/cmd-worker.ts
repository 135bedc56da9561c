/** `vigil worker`: one worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (production). */
import { createLogger } from '../logger.js';
import { createVigilWorker } from '../worker/create-worker.js';
import { resolveConfig } from './cli-common.js';

export async function runWorker(v: Record<string, string | boolean | undefined>): Promise<number> {
  const { config } = resolveConfig(v);
  const logger = createLogger({ name: 'vigil-worker' });
  const worker = await createVigilWorker(config);
  logger.info({ address: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue }, 'worker started');
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
  logger.info('worker stopped');
  return 0;
}
