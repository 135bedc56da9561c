/**
 * Bundles the workflow code once for an evaluation run, in a worker thread: webpack's
 * few hundred MB are returned to the system when the thread ends instead of staying
 * in the heap that the run's workers, replay servers and ingest then share (and that
 * the summary reports as peak memory).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const BUNDLER = `
const { workerData, parentPort } = require('node:worker_threads');
const { writeFileSync } = require('node:fs');
const { bundleWorkflowCode, DefaultLogger } = require(workerData.workerModule);
bundleWorkflowCode({ workflowsPath: workerData.workflowsPath, logger: new DefaultLogger('WARN') })
  .then((b) => { writeFileSync(workerData.outFile, b.code); parentPort.postMessage({ ok: true }); })
  .catch((err) => parentPort.postMessage({ ok: false, error: String(err && err.stack || err) }));
`;

/** Writes the bundle of `workflowsPath` to `outFile`. */
export async function bundleWorkflowsTo(workflowsPath: string, outFile: string): Promise<void> {
  const workerModule = createRequire(import.meta.url).resolve('@temporalio/worker');
  const thread = new Worker(BUNDLER, { eval: true, workerData: { workerModule, workflowsPath, outFile } });
  const result = await new Promise<{ ok: boolean; error?: string }>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
    thread.once('exit', (code) => resolve({ ok: false, error: `bundler thread exited with code ${code}` }));
  });
  await thread.terminate();
  if (!result.ok) throw new Error(`cannot bundle the workflow code: ${result.error ?? 'unknown error'}`);
}
