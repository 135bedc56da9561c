/**
 * Test access to the one Temporal dev server that scripts/run-tests.ts started for this
 * run: a client, and vigil workers on their own task queues with the pre-built bundle.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { parse, stringify } from 'yaml';
import { DEFAULT_POLICY_FILE, loadConfig } from '../../src/config.js';
import { Policy } from '../../src/schemas/policy.js';
import type { VigilConfig } from '../../src/schemas/config.js';
import { createVigilWorker, type VigilWorker } from '../../src/worker/create-worker.js';

export function temporalAddress(): string {
  const a = process.env['TEMPORAL_ADDRESS'];
  if (!a) throw new Error('TEMPORAL_ADDRESS is not set: run the suite with `npm test` (it starts the dev server)');
  return a;
}

export async function testClient(): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, namespace: process.env['TEMPORAL_NAMESPACE'] ?? 'default' }), connection };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(process.env['VIGIL_TEST_TMP'] ?? tmpdir(), `${prefix}-`));
}

let testPolicy: string | undefined;

/**
 * The dev policy without its random spot checks (`checkpoint.sampleRate` 0): the dev policy
 * sends 5 % of incidents to a person at random, which made a test expecting an autonomous
 * incident wait at a checkpoint now and then. A test of sampling sets the rate itself.
 */
export function testPolicyFile(): string {
  if (!testPolicy) {
    const policy = Policy.parse(parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')));
    policy.checkpoint.sampleRate = 0;
    testPolicy = join(tempDir('policy'), 'policy.yaml');
    writeFileSync(testPolicy, stringify(policy));
  }
  return testPolicy;
}

/** A config for one test: its own task queue and data dir, the dev policy without spot checks unless it names one. */
export function testConfig(overrides: Record<string, unknown> = {}): VigilConfig {
  return loadConfig({
    env: { TEMPORAL_ADDRESS: temporalAddress() },
    overrides: {
      dataDir: tempDir('data'),
      policyFile: testPolicyFile(),
      ...overrides,
      temporal: { address: temporalAddress(), taskQueue: `test-${randomUUID()}`, ...((overrides['temporal'] as object) ?? {}) },
    },
  });
}

export async function startTestWorker(
  config: VigilConfig,
  opts: { env?: Record<string, string | undefined> } = {},
): Promise<{ worker: VigilWorker; running: Promise<void>; stop: () => Promise<void> }> {
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
  // Without an explicit env, the worker sees no VIGIL_LLM_* of the developer's shell.
  const env = opts.env ?? {};
  const worker = await createVigilWorker(config, { connection, env, ...(bundle ? { workflowBundlePath: bundle } : {}) });
  const running = worker.run();
  return {
    worker,
    running,
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}
