/**
 * The ceiling of any ingest that waits for its workflow's answer (not part of `npm test`):
 * a trivial workflow whose update handler only returns "ok", reached by update-with-start,
 * against signalWithStart to it, on an embedded dev server with one worker.
 *
 *   P=signal,update S=10 C=32 G=400 node --import tsx bench/update-vs-signal.ts
 *
 * P: phases (signal, signalonly = a plain signal to the workflows signal started, signalnative = signalWithStart over a NativeConnection, signalquery = signalWithStart then a query, update, updatenew = always a new workflow, start); S: seconds each;
 * C: concurrent senders; G: distinct workflow ids; WT / POLL: worker task slots / pollers.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { echoQuery, echoSignal, echoUpdate } from './update-vs-signal-workflows.js';

const SECONDS = Number(process.env['S'] ?? 10);
const CONC = Number(process.env['C'] ?? 32);
installTemporalRuntime();
const server = await startDevServer({});
const tq = 'probe';
const worker = await Worker.create({ connection: server.env.nativeConnection, namespace: server.namespace, taskQueue: tq, workflowsPath: fileURLToPath(new URL('./update-vs-signal-workflows.ts', import.meta.url)), ...(process.env['WT'] ? { maxConcurrentWorkflowTaskExecutions: Number(process.env['WT']) } : {}), ...(process.env['POLL'] ? { workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: Number(process.env['POLL']) } } : {}) });
const running = worker.run();
const connection = await Connection.connect({ address: server.address });
const client = new Client({ connection, namespace: server.namespace });
// The same client API over the SDK's native (Rust) connection.
const native = await NativeConnection.connect({ address: server.address });
const nativeClient = new Client({ connection: native, namespace: server.namespace });
const payload = { alerts: Array.from({ length: 10 }, (_, i) => ({ fingerprint: `f${i}`, labels: { a: 'b', service: 'x', pod: `p${i}` } })) };
async function loop(name: string, job: (i: number) => Promise<void>) {
  const end = Date.now() + SECONDS * 1000;
  let next = 0, done = 0;
  const start = Date.now();
  await Promise.all(Array.from({ length: CONC }, async () => { while (Date.now() < end) { await job(next++); done++; } }));
  console.log(`${name}: ${(done / ((Date.now() - start) / 1000)).toFixed(0)} req/s`);
}
const groups = Number(process.env['G'] ?? 400);
for (const phase of (process.env['P'] ?? 'signal,update').split(',')) {
  if (phase === 'signal') await loop('signalWithStart', async (i) => { await client.workflow.signalWithStart('Echo', { workflowId: `s-${i % groups}`, taskQueue: tq, args: [payload], signal: echoSignal, signalArgs: [payload] }); });
  if (phase === 'signalnative') await loop('signalWithStart (NativeConnection)', async (i) => { await nativeClient.workflow.signalWithStart('Echo', { workflowId: `s-${i % groups}`, taskQueue: tq, args: [payload], signal: echoSignal, signalArgs: [payload] }); });
  if (phase === 'signalonly') await loop('signal (workflow running)', async (i) => { await client.workflow.getHandle(`s-${i % groups}`).signal(echoSignal, payload); });
  if (phase === 'signalquery') await loop('signalWithStart + query', async (i) => { const h = await client.workflow.signalWithStart('Echo', { workflowId: `q-${i % groups}`, taskQueue: tq, args: [payload], signal: echoSignal, signalArgs: [payload] }); await h.query(echoQuery); });
  if (phase === 'update') await loop('update-with-start', async (i) => { await client.workflow.executeUpdateWithStart(echoUpdate, { args: [payload], startWorkflowOperation: new WithStartWorkflowOperation('Echo', { workflowId: `u-${i % groups}`, taskQueue: tq, args: [payload], workflowIdConflictPolicy: 'USE_EXISTING' }) }); });
  if (phase === 'updatenew') await loop('update-with-start (always new)', async (i) => { await client.workflow.executeUpdateWithStart(echoUpdate, { args: [payload], startWorkflowOperation: new WithStartWorkflowOperation('Echo', { workflowId: `n-${i}`, taskQueue: tq, args: [payload], workflowIdConflictPolicy: 'USE_EXISTING' }) }); });
  if (phase === 'start') await loop('start', async (i) => { await client.workflow.start('Echo', { workflowId: `st-${i}`, taskQueue: tq, args: [payload] }); });
}
worker.shutdown(); await running; await connection.close(); await native.close(); await server.stop(); process.exit(0);
