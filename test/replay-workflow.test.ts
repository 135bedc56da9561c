/**
 * A recorded incident served by the dataset replay MCP server and diagnosed by the real
 * incident workflow yields evidence from every kind of telemetry the case carries.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { runEval } from '../src/eval/run-eval.js';
import type { IncidentStatus } from '../src/schemas/incident.js';
import { DATASETS_DIR } from './support/load-case.js';
import { tempDir, temporalAddress } from './support/temporal.js';

const CASE = 'ob-20220822-051809'; // nezha-ob: metrics, logs, traces, topology

void test('a replayed case yields evidence from its metrics, logs, traces and topology', { timeout: 180_000 }, async () => {
  const dataset = tempDir('one-case');
  mkdirSync(join(dataset, 'cases'));
  writeFileSync(join(dataset, 'dataset.json'), JSON.stringify({ name: 'one', telemetry: ['metrics', 'logs', 'traces'], published_results: [] }));
  cpSync(join(DATASETS_DIR, 'nezha-ob', 'cases', CASE), join(dataset, 'cases', CASE), { recursive: true });
  const keepDir = tempDir('keep');
  const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
  const run = await runEval({ datasetDir: dataset, temporalAddress: temporalAddress(), keepDir, ...(bundle ? { workflowBundlePath: bundle } : {}) });
  assert.equal(run.summary.casesFailed, 0);
  const report = JSON.parse(readFileSync(join(keepDir, CASE, 'report.json'), 'utf8')) as IncidentStatus;
  const bySource = Object.fromEntries(report.evidence.map((e) => [e.source, e]));
  for (const source of ['metrics', 'logs', 'traces', 'topology'] as const) {
    assert.equal(bySource[source]?.status, 'ok', `${source} was read: ${bySource[source]?.status ?? 'absent'} ${bySource[source]?.error ?? ''}`);
  }
  for (const source of ['metrics', 'traces'] as const) assert.ok((bySource[source]?.findings.length ?? 0) > 0, `${source} has findings`);
  assert.ok(report.topologyServices.length >= 10, 'the topology of the recorded system reached the workflow');
  assert.deepEqual(report.missingSources, []);
  assert.equal(report.outcome, 'shadow', 'a recorded incident is never acted on');
});
