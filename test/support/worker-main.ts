/**
 * A vigil worker as its own process, for tests that kill it (SIGKILL) and start another.
 * Reads its configuration as JSON from VIGIL_TEST_CONFIG.
 */
import { VigilConfig } from '../../src/schemas/config.js';
import { installTemporalRuntime } from '../../src/temporal/runtime.js';
import { createVigilWorker } from '../../src/worker/create-worker.js';

installTemporalRuntime();
const config = VigilConfig.parse(JSON.parse(process.env['VIGIL_TEST_CONFIG'] ?? '{}'));
const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
const worker = await createVigilWorker(config, bundle ? { workflowBundlePath: bundle } : {});
process.stdout.write('worker ready\n');
await worker.run();
