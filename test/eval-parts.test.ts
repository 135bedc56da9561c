/**
 * The pure parts of `vigil eval`: AC@k / Avg@5 as score.py defines them, the
 * calibration of confidence (ECE and reliability bins), the webhook a case's alert
 * becomes, and incident settings derived from the case window alone.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { alertmanagerWebhook, incidentSettingsFor } from '../src/eval/case-alert.js';
import { accuracy, accuracyByFaultType, calibration, type ScoredCase } from '../src/eval/scoring.js';
import { AlertmanagerWebhook } from '../src/ingest/alertmanager-schema.js';
import { ReplayModel } from '../src/replay/index.js';
import { DATASETS_DIR } from './support/load-case.js';

const scored = (ranking: string[], truth: string, confidence: number | null, faultType?: string): ScoredCase => ({ id: truth + ranking.join(), ranking, truth, confidence, faultType });

void test('AC@k counts the truth among the first k (first occurrence), a failed case is a miss, Avg@5 averages AC@1..5', () => {
  const a = accuracy([scored(['a', 'b'], 'a', 0.9), scored(['b', 'b', 'c'], 'c', 0.5), scored([], 'a', null), scored(['x', 'y', 'z', 'w', 'v', 'a'], 'a', 0.1)]);
  assert.equal(a['AC@1'], 0.25);
  assert.equal(a['AC@2'], 0.25);
  assert.equal(a['AC@3'], 0.5, 'c sits at position 3: the repeated b is not collapsed, as in score.py ranking order');
  assert.equal(a['AC@5'], 0.5);
  assert.equal(a['Avg@5'], (0.25 + 0.25 + 0.5 + 0.5 + 0.5) / 5);
  const byType = accuracyByFaultType([scored(['a'], 'a', 1, 'cpu'), scored(['b'], 'a', 1, 'mem'), scored(['a'], 'a', 1)]);
  assert.deepEqual(Object.keys(byType), ['?', 'cpu', 'mem']);
  assert.equal(byType['mem']?.['AC@1'], 0);
});

void test('calibration: ECE weighs each bin by its share; the checkpoint threshold splits accuracy', () => {
  const cases = [scored(['a'], 'a', 0.95), scored(['a'], 'a', 0.95), scored(['b'], 'a', 0.55), scored(['a'], 'a', 0.55), scored([], 'a', null)];
  const c = calibration(cases);
  assert.equal(c.n, 5);
  assert.equal(c.bins.length, 10);
  const top = c.bins[9];
  assert.deepEqual([top?.count, top?.accuracy], [2, 1]);
  assert.ok(Math.abs((top?.meanConfidence ?? 0) - 0.95) < 1e-12);
  assert.deepEqual([c.bins[5]?.count, c.bins[5]?.accuracy], [2, 0.5]);
  assert.deepEqual([c.bins[0]?.count, c.bins[0]?.accuracy], [1, 0], 'a failed case counts with confidence 0 and wrong');
  const expected = (2 / 5) * 0.05 + (2 / 5) * 0.05 + (1 / 5) * 0;
  assert.ok(Math.abs(c.ece - expected) < 1e-12, `ece ${c.ece}`);
  assert.deepEqual(c.threshold.atOrAbove, { count: 2, accuracy: 1 });
  assert.deepEqual(c.threshold.below, { count: 3, accuracy: 1 / 3 });
  const llm = calibration([{ ...scored(['a', 'b'], 'b', 0.9), rootCause: 'b' }]);
  assert.equal(llm.top1Accuracy, 1, "the reasoner's own conclusion is what its confidence is about");
});

void test("a case's alert becomes a valid Alertmanager v4 webhook of its own group", async () => {
  const model = await ReplayModel.open(join(DATASETS_DIR, 'petshop', 'cases', 'high_traffic-test-issue_0'));
  const hook = AlertmanagerWebhook.parse(alertmanagerWebhook(model.alert, '{}:{case="x"}'));
  assert.equal(hook.groupKey, '{}:{case="x"}');
  assert.equal(hook.alerts.length, 1);
  assert.deepEqual(hook.alerts[0]?.labels, model.alert.labels);
  assert.equal(hook.alerts[0]?.startsAt, '2023-04-13T15:19:19Z');
  const noFingerprint = alertmanagerWebhook({ ...model.alert, fingerprint: undefined }, 'g');
  assert.match(noFingerprint.alerts[0]?.fingerprint ?? '', /^[0-9a-f]{16}$/);
});

void test('incident settings come from the case window and the served data, the same rule for every dataset', async () => {
  const petshop = await ReplayModel.open(join(DATASETS_DIR, 'petshop', 'cases', 'high_traffic-test-issue_0'));
  const coverage = await petshop.coverage();
  assert.deepEqual(await incidentSettingsFor(petshop), {
    groupWaitSeconds: 0,
    baselineSeconds: Math.floor(petshop.startsAt) - coverage.start,
    incidentWindowSeconds: petshop.window.end - Math.floor(petshop.startsAt),
    metricsStepSeconds: 300,
  });
  assert.ok(coverage.start < petshop.window.start - 5 * 3600, 'six hours of baseline placed before the window');
  const sockshop = await ReplayModel.open(join(DATASETS_DIR, 'sockshop-rcd', 'cases', 'ss-0e898413'), { baseline: 'off' });
  const s = await incidentSettingsFor(sockshop);
  assert.equal(s.baselineSeconds, Math.floor(sockshop.startsAt) - sockshop.window.start);
  assert.equal(s.metricsStepSeconds, 1);
});
