import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceOf, inferRootCause } from '../src/reasoner/builtin-reasoner.js';
import { calibration } from '../scripts/rank-dataset.js';
import type { Candidate, Finding, SourceEvidence } from '../src/schemas/evidence.js';

function cand(service: string, score: number, findingIds: string[] = []): Candidate {
  return { service, score, reasons: [`${service} reason`], findingIds };
}
function ev(source: SourceEvidence['source'], findings: [string, number][]): SourceEvidence {
  return {
    source,
    status: 'ok',
    stats: {},
    findings: findings.map(
      ([service, score]): Finding => ({ id: `${source}:${service}`, source, service, indicator: 'x', score, onset: null, summary: '', direction: 'up' }),
    ),
  };
}

void test('no candidates: no root cause and zero confidence', () => {
  const v = inferRootCause({ candidates: [], evidence: [] });
  assert.equal(v.rootCause, null);
  assert.equal(v.confidence, 0);
});

void test('a clear margin with two agreeing sources gives high confidence', () => {
  const v = inferRootCause({
    candidates: [cand('payment', 0.9, ['metrics:payment', 'logs:payment']), cand('checkout', 0.3)],
    evidence: [ev('metrics', [['payment', 20], ['checkout', 5]]), ev('logs', [['payment', 8]])],
  });
  assert.equal(v.rootCause?.service, 'payment');
  assert.ok(v.confidence > 0.8, String(v.confidence));
  assert.deepEqual(v.evidenceRefs, ['metrics:payment', 'logs:payment']);
});

void test('a near tie stays below 0.6 even with agreeing sources', () => {
  const v = inferRootCause({
    candidates: [cand('a', 0.8), cand('b', 0.78)],
    evidence: [ev('metrics', [['a', 10], ['b', 9.8]]), ev('traces', [['a', 5], ['b', 5]])],
  });
  assert.ok(v.confidence < 0.6, String(v.confidence));
  assert.ok(v.reasoning.some((r) => /near tie with b/.test(r)));
});

void test('a single weak source stays below 0.6', () => {
  const v = inferRootCause({ candidates: [cand('a', 0.3), cand('b', 0.05)], evidence: [ev('metrics', [['a', 4], ['b', 1]])] });
  assert.ok(v.confidence < 0.6, String(v.confidence));
});

void test('a finding on a service the ranking set aside does not count against agreement; one on a contender does', () => {
  // The caller's latency z-score is higher, but the ranking explained it by its callee.
  const setAside = inferRootCause({
    candidates: [cand('petinfo-db', 1.0), cand('petsite', 0.3)],
    evidence: [ev('metrics', [['petsite', 40], ['petinfo-db', 8]])],
  });
  assert.equal(setAside.rootCause?.service, 'petinfo-db');
  assert.ok(setAside.confidence >= 0.9, String(setAside.confidence));
  assert.ok(setAside.reasoning.some((r) => /1 of 1 source\(s\) with findings point at petinfo-db/.test(r)));
  // The same evidence, but the ranking still rates the caller a contender: the source disagrees.
  const contender = inferRootCause({
    candidates: [cand('petinfo-db', 1.0), cand('petsite', 0.6)],
    evidence: [ev('metrics', [['petsite', 40], ['petinfo-db', 8]])],
  });
  assert.ok(contender.confidence < 0.6, String(contender.confidence));
});

void test('history agreement raises and disagreement lowers confidence', () => {
  const base = { candidates: [cand('a', 0.7), cand('b', 0.5)], evidence: [ev('metrics', [['a', 10]]), ev('logs', [['a', 3]])] };
  const none = inferRootCause(base).confidence;
  const pro = inferRootCause({ ...base, similarIncidents: [{ service: 'a', similarity: 0.9 }] }).confidence;
  const con = inferRootCause({ ...base, similarIncidents: [{ service: 'b', similarity: 0.9 }] }).confidence;
  assert.ok(pro > none && none > con, `${pro} ${none} ${con}`);
});

void test('a lone source that clearly points at one service is not penalised for sources the system lacks', () => {
  const v = inferRootCause({ candidates: [cand('carts', 0.9), cand('orders', 0.2)], evidence: [ev('metrics', [['carts', 300], ['orders', 20]])] });
  assert.ok(v.confidence > 0.9, String(v.confidence));
  // When logs exist and point elsewhere, the same margin is worth less.
  const split = inferRootCause({
    candidates: [cand('carts', 0.9), cand('orders', 0.2)],
    evidence: [ev('metrics', [['carts', 300], ['orders', 20]]), ev('logs', [['orders', 9]])],
  });
  assert.ok(split.confidence < v.confidence - 0.1, `${split.confidence} vs ${v.confidence}`);
});

void test('confidence grows with the margin and never reaches certainty', () => {
  const at = (margin: number): number => confidenceOf({ margin, agreeing: 1, available: 1, history: 0, topScore: 1 });
  assert.ok(at(0.05) <= 0.5);
  assert.ok(at(0.05) < at(0.2) && at(0.2) < at(0.4));
  assert.equal(at(1), 0.95);
  assert.equal(confidenceOf({ margin: 1, agreeing: 2, available: 2, history: 1, topScore: 1 }), 0.95);
});

void test('expected calibration error is the count-weighted gap between confidence and accuracy per bin', () => {
  const matched = [
    ...Array.from({ length: 8 }, (_, i) => ({ confidence: 0.75, correct: i < 6 })),
    ...Array.from({ length: 2 }, () => ({ confidence: 0.05, correct: false })),
  ];
  assert.ok(Math.abs(calibration(matched).ece - 0.01) < 1e-9);
  const over = Array.from({ length: 10 }, (_, i) => ({ confidence: 0.9, correct: i < 5 }));
  const r = calibration(over);
  assert.ok(Math.abs(r.ece - 0.4) < 1e-9);
  assert.deepEqual(r.table.filter((b) => b.count > 0).map((b) => [b.lo, b.count, b.accuracy]), [[0.9, 10, 0.5]]);
});
