import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferRootCause } from '../src/reasoner/builtin-reasoner.js';
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

void test('history agreement raises and disagreement lowers confidence', () => {
  const base = { candidates: [cand('a', 0.7), cand('b', 0.5)], evidence: [ev('metrics', [['a', 10]]), ev('logs', [['a', 3]])] };
  const none = inferRootCause(base).confidence;
  const pro = inferRootCause({ ...base, similarIncidents: [{ service: 'a', similarity: 0.9 }] }).confidence;
  const con = inferRootCause({ ...base, similarIncidents: [{ service: 'b', similarity: 0.9 }] }).confidence;
  assert.ok(pro > none && none > con, `${pro} ${none} ${con}`);
});
