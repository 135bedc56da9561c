/**
 * `vigil eval` end to end: a small dataset made of real recorded cases (two with
 * truth.json, one without) runs through the real incident workflow — replay MCP
 * servers, stock workers, the ingest server, Temporal — and writes results.json
 * that ../shared/datasets/score.py reads. A folder that is not a dataset is refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NotADatasetError } from '../src/eval/dataset.js';
import { runEval, type CaseResult, type EvalSummary } from '../src/eval/run-eval.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { DATASETS_DIR } from './support/load-case.js';
import { tempDir, temporalAddress } from './support/temporal.js';

installTemporalRuntime();

const CASES = [
  { dataset: 'sockshop-rcd', id: 'ss-0e898413', truth: true },
  { dataset: 'nezha-ob', id: 'ob-20220822-051809', truth: true },
  { dataset: 'petshop', id: 'high_traffic-test-issue_0', truth: false },
];

/** A dataset folder holding copies of real cases; truth.json removed where `truth` is false. */
function miniDataset(): string {
  const dir = tempDir('mini-dataset');
  mkdirSync(join(dir, 'cases'));
  writeFileSync(
    join(dir, 'dataset.json'),
    JSON.stringify({ name: 'mini', telemetry: ['metrics', 'logs', 'traces'], published_results: [{ method: 'Dummy', metric: 'Avg@5', value: 0.36, scope: 'cpu faults' }] }),
  );
  for (const c of CASES) {
    cpSync(join(DATASETS_DIR, c.dataset, 'cases', c.id), join(dir, 'cases', c.id), { recursive: true });
    if (!c.truth) rmSync(join(dir, 'cases', c.id, 'truth.json'));
  }
  return dir;
}

function vigil(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', env, timeout: 240_000 });
}

void test('vigil eval runs every case through the real workflow on an embedded Temporal and writes results.json', { timeout: 300_000 }, () => {
  const dataset = miniDataset();
  const out = join(tempDir('eval-out'), 'results.json');
  const env = { ...process.env };
  delete env['TEMPORAL_ADDRESS'];
  const r = vigil(['eval', dataset, '--out', out, '--json', '--concurrency', '2'], env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'no progress output when stderr is not a terminal');
  const summary = JSON.parse(r.stdout) as EvalSummary;
  assert.equal(summary.dataset, 'mini');
  assert.equal(summary.casesRun, 3);
  assert.equal(summary.casesFailed, 0);
  assert.equal(summary.casesScored, 2, 'the case without truth.json is ranked but not scored');
  assert.equal(summary.temporal.embedded, true);
  assert.ok(summary.accuracy && summary.accuracy['AC@5'] > 0);
  assert.equal(summary.calibration?.bins.length, 10);
  assert.deepEqual(summary.published, [{ method: 'Dummy', metric: 'Avg@5', value: 0.36, scope: 'cpu faults' }]);
  assert.ok(summary.peakRssBytes.eval > 0 && (summary.peakRssBytes.temporal ?? 0) > 0);

  const results = JSON.parse(readFileSync(out, 'utf8')) as { dataset: string; cases: CaseResult[] };
  assert.equal(results.dataset, 'mini');
  assert.deepEqual(results.cases.map((c) => c.id), CASES.map((c) => c.id).sort());
  for (const c of results.cases) {
    assert.ok(c.ranking.length > 0, `${c.id} has a ranking`);
    assert.ok(c.ranking.every((x) => typeof x.service === 'string' && typeof x.score === 'number'));
    assert.ok(typeof c.confidence === 'number' && c.confidence >= 0 && c.confidence <= 1);
    assert.ok(c.duration_ms > 0);
    assert.ok(c.outcome === 'shadow' || c.outcome === 'no-action', `${c.id} ended without acting (${c.outcome})`);
  }
  assert.equal(results.cases.find((c) => c.id === 'ss-0e898413')?.ranking[0]?.service, 'orders', 'a clear cpu hog ranks first');

  const py = spawnSync('python3', [join(DATASETS_DIR, 'score.py'), '--truth', dataset, '--results', out, '--json'], { encoding: 'utf8' });
  if (py.error) return; // no python3 here: the format is checked above
  assert.equal(py.status, 0, py.stderr);
  const scored = JSON.parse(py.stdout) as { 'AC@5': number; cases_scored: number };
  assert.equal(scored.cases_scored, 2);
  assert.equal(scored['AC@5'], summary.accuracy['AC@5'], 'score.py agrees with vigil eval');
});

void test('runEval on a running Temporal: --limit, kept evidence and reports', { timeout: 180_000 }, async () => {
  const dataset = miniDataset();
  const keepDir = tempDir('eval-keep');
  const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
  const run = await runEval({ datasetDir: dataset, temporalAddress: temporalAddress(), limit: 1, keepDir, baseline: 'before-window', ...(bundle ? { workflowBundlePath: bundle } : {}) });
  assert.equal(run.summary.casesRun, 1);
  assert.equal(run.summary.temporal.embedded, false);
  const only = run.results.cases[0];
  assert.equal(only?.id, 'high_traffic-test-issue_0');
  assert.ok(only.ranking.length > 0, only.error);
  assert.equal(run.summary.casesScored, 0);
  assert.equal(run.summary.accuracy, null, 'no truth: rankings only');
  assert.ok(existsSync(join(keepDir, only.id, 'report.md')));
  const calls = readFileSync(join(keepDir, only.id, 'evidence', 'tool-calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { capability: string; arguments: { start?: number } });
  const metrics = calls.find((c) => c.capability === 'metrics.query_range');
  assert.ok(metrics?.arguments.start !== undefined && metrics.arguments.start < Date.parse('2023-04-13T15:10:00Z') / 1000, 'the metrics query reaches back over the baseline placed before the window');
  assert.ok(!calls.some((c) => c.capability.startsWith('remediation.')), 'nothing was acted on');
});

void test('by default the workflow judges the case window against its separate fault-free baseline (metrics.baseline)', { timeout: 180_000 }, async () => {
  const dataset = miniDataset();
  const keepDir = tempDir('eval-keep-separate');
  const bundle = process.env['VIGIL_TEST_WORKFLOW_BUNDLE'];
  const run = await runEval({ datasetDir: dataset, temporalAddress: temporalAddress(), limit: 1, keepDir, ...(bundle ? { workflowBundlePath: bundle } : {}) });
  assert.equal(run.summary.baseline, 'separate');
  const only = run.results.cases[0];
  assert.ok(only && only.ranking.length > 0, only?.error);
  const calls = readFileSync(join(keepDir, only.id, 'evidence', 'tool-calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { capability: string; arguments: { start?: number } });
  const query = calls.find((c) => c.capability === 'metrics.query_range');
  assert.ok(query?.arguments.start !== undefined && query.arguments.start >= Date.parse('2023-04-13T15:10:00Z') / 1000, 'the query tools serve the case window alone');
  assert.ok(calls.some((c) => c.capability === 'metrics.baseline'), 'the baseline capability was asked');
  const report = readFileSync(join(keepDir, only.id, 'report.md'), 'utf8');
  assert.match(report, /### metrics \(ok[^)]*judged against the fault-free reference \d{4}-\d\d-\d\dT[\d:]+Z to /, 'the report says which reference period the metrics were judged against');
});

void test('a folder that is not a dataset is a clear one-line error', async () => {
  const notDataset = join(DATASETS_DIR, 'nezha-ob', 'cases');
  await assert.rejects(runEval({ datasetDir: notDataset }), (err: unknown) => err instanceof NotADatasetError && /is not a dataset: it has no dataset\.json/.test(err.message));
  const r = vigil(['eval', notDataset], process.env);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^vigil eval: .*nezha-ob\/cases is not a dataset: it has no dataset\.json \(expected dataset\.json and cases\/<id>\/case\.json, see FORMAT\.md\)\n$/);
  assert.equal(r.stdout, '');
});
