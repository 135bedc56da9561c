/**
 * Every fault kind of the built-in simulator, injected into a few services and alerted
 * on the faulty service and on the entry service, is ranked first by the real analyses
 * and ranking (the simulator model directly, no Temporal).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FAULT_KINDS } from '../src/simulator/index.js';
import { rankSimulatedFault, simulatorMatrix } from '../scripts/rank-simulator.js';

void test('every simulated fault kind ranks the injected service first, alerted there or at the frontend', () => {
  const cases = simulatorMatrix();
  // Every fault kind is covered, a leak is given time to show, both alert targets are tried.
  assert.deepEqual([...new Set(cases.map((c) => c.kind))].sort(), FAULT_KINDS.map((k) => k.kind).sort());
  assert.ok(cases.filter((c) => c.kind === 'memory-leak').every((c) => (c.sinceOnset ?? 0) >= 600));
  assert.ok(cases.some((c) => c.alertService === 'frontend') && cases.some((c) => c.alertService === c.service));
  const misses: string[] = [];
  for (const c of cases) {
    const { candidates } = rankSimulatedFault(c);
    if (candidates[0]?.service !== c.service)
      misses.push(`${c.kind} in ${c.service} (alert on ${c.alertService}): ${candidates.slice(0, 3).map((x) => `${x.service} ${x.score.toFixed(2)}`).join(', ')}`);
  }
  assert.deepEqual(misses, []);
});

void test('a saturated cpu ranks its service above the database whose connections it holds longer', () => {
  const { candidates, evidence } = rankSimulatedFault({ kind: 'cpu-saturation', service: 'payment', alertService: 'frontend' });
  assert.equal(candidates[0]?.service, 'payment');
  const metrics = evidence.find((e) => e.source === 'metrics')?.findings ?? [];
  assert.ok(metrics.some((f) => f.service === 'payment' && f.id.endsWith(':saturation')));
  // Its own work is not read as network time into payments-db.
  const traces = evidence.find((e) => e.source === 'traces')?.findings ?? [];
  assert.ok(!traces.some((f) => f.service === 'payments-db' && f.indicator === 'network:incoming'));
});
