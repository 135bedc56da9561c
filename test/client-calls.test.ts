/**
 * Client calls that outlive the activity that made them (src/temporal/client-calls.ts), on
 * the real dev server: a call still waiting when its connection closes must end as a
 * rejection, not as an uncaught "Channel has been shut down" from the client's retry timer.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { ClientCalls } from '../src/temporal/client-calls.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { testClient } from './support/temporal.js';

installTemporalRuntime();

/** A workflow nobody serves: waiting for its result is a long poll that never ends by itself. */
async function unservedWorkflow() {
  const { client, connection } = await testClient();
  const handle = await client.workflow.start('NobodyServesThis', { taskQueue: `nobody-${randomUUID()}`, workflowId: `client-calls-${randomUUID()}` });
  return { client, connection, handle };
}

/** Collects uncaught exceptions while `fn` runs and for `settleMs` after. */
async function uncaughtDuring(fn: () => Promise<void>, settleMs: number): Promise<Error[]> {
  const seen: Error[] = [];
  const onUncaught = (err: Error) => seen.push(err);
  process.on('uncaughtException', onUncaught);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  return seen;
}

void test('closing cancels a call still waiting, and the connection then closes with nothing left to retry on it', async () => {
  const { client, connection, handle } = await unservedWorkflow();
  const calls = new ClientCalls(client);
  const waiting = calls.run(() => handle.result(), 60_000, 'no answer');
  const uncaught = await uncaughtDuring(async () => {
    await new Promise((r) => setTimeout(r, 300));
    await calls.close();
    await assert.rejects(waiting, /shutting down/);
    const admin = await testClient();
    await admin.client.workflow.getHandle(handle.workflowId).terminate('test over');
    await admin.connection.close();
    await connection.close();
  }, 3_000);
  assert.deepEqual(uncaught.map((e) => e.message), []);
  await assert.rejects(calls.run(() => handle.describe(), 1_000, 'no answer'), /shutting down/, 'a closed ClientCalls starts nothing');
});

void test('a call past its time is cancelled and rejects with the message given', async () => {
  const { client, connection, handle } = await unservedWorkflow();
  const calls = new ClientCalls(client);
  try {
    const started = Date.now();
    await assert.rejects(calls.run(() => handle.result(), 500, 'the workflow did not answer within 500 ms'), /did not answer within 500 ms/);
    assert.ok(Date.now() - started < 10_000);
    // The connection still serves other calls.
    assert.equal((await calls.run(() => handle.describe(), 10_000, 'no answer')).status.name, 'RUNNING');
  } finally {
    await handle.terminate('test over');
    await calls.close();
    await connection.close();
  }
});
