/**
 * Every fault kind of the simulator: its service is the most anomalous in the kind's
 * indicator, its callers degrade while unrelated services stay normal, the documented
 * fix ends it and a wrong action does not.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ActionOutput } from '../src/schemas/capabilities.js';
import { FAULT_KINDS, FaultKind, SimulatorModel } from '../src/simulator/index.js';

const T0 = 1_715_000_000;

function clockedModel(seed = 11): { model: SimulatorModel; advance(s: number): void; now(): number } {
  let now = T0;
  return { model: new SimulatorModel({ seed, now: () => now }), advance: (s) => void (now += s), now: () => now };
}

function mean(model: SimulatorModel, service: string, metric: string, start: number, end: number): number {
  const values = model.queryMetrics({ start, end, step: 15, service, metric }).series.flatMap((s) => s.points.map(([, v]) => v));
  assert.ok(values.length > 0, `no ${metric} for ${service}`);
  return values.reduce((a, b) => a + b, 0) / values.length;
}

interface Case {
  kind: FaultKind;
  service: string;
  indicator: string;
  caller: string;
  unrelated: string;
  fix: (m: SimulatorModel) => ActionOutput;
  wrong: (m: SimulatorModel) => ActionOutput;
}

const CASES: Case[] = [
  {
    kind: 'bad-release', service: 'payment', indicator: 'error_rate', caller: 'checkout', unrelated: 'catalog',
    fix: (m) => m.rollback('payment', m.getState('payment').previousRelease ?? '', 'case:bad-release:fix'),
    wrong: (m) => m.restart('payment', 'case:bad-release:wrong'),
  },
  {
    kind: 'bad-flag', service: 'checkout', indicator: 'error_rate', caller: 'frontend', unrelated: 'payment',
    fix: (m) => m.setFlag('checkout', 'split-payments', false, 'case:bad-flag:fix'),
    wrong: (m) => m.restart('checkout', 'case:bad-flag:wrong'),
  },
  {
    kind: 'db-pool-exhaustion', service: 'inventory', indicator: 'db_connections_in_use', caller: 'checkout', unrelated: 'catalog',
    fix: (m) => m.restart('inventory', 'case:db-pool:fix'),
    wrong: (m) => m.scale('inventory', 4, 'case:db-pool:wrong'),
  },
  {
    kind: 'cpu-saturation', service: 'catalog', indicator: 'cpu_usage', caller: 'frontend', unrelated: 'payment',
    fix: (m) => m.scale('catalog', 5, 'case:cpu:fix'),
    wrong: (m) => m.restart('catalog', 'case:cpu:wrong'),
  },
  {
    kind: 'network-latency', service: 'shipping', indicator: 'latency_p99_seconds', caller: 'checkout', unrelated: 'cart',
    fix: (m) => m.restart('shipping', 'case:net:fix'),
    wrong: (m) => m.scale('shipping', 3, 'case:net:wrong'),
  },
  {
    kind: 'memory-leak', service: 'cart', indicator: 'memory_usage', caller: 'frontend', unrelated: 'payment',
    fix: (m) => m.restart('cart', 'case:leak:fix'),
    wrong: (m) => m.setFlag('cart', 'cart-recommendations', true, 'case:leak:wrong'),
  },
];

void test('every fault kind is listed once with a description and a fix', () => {
  assert.deepEqual(FAULT_KINDS.map((k) => k.kind).sort(), [...FaultKind.options].sort());
  for (const k of FAULT_KINDS) assert.ok(k.description.length > 20 && k.fix.length > 10, k.kind);
});

void describe('each fault kind', () => {
  for (const c of CASES) {
    void test(`${c.kind} in ${c.service}: most anomalous in ${c.indicator}, callers degrade, the fix ends it and a wrong action does not`, () => {
      const sim = clockedModel();
      const { model } = sim;
      const id = model.inject({ kind: c.kind, service: c.service });
      sim.advance(1200);
      const baseline = (s: string, metric = c.indicator) => mean(model, s, metric, T0 - 2 * 3600, T0 - 60);
      const during = (s: string, metric = c.indicator) => mean(model, s, metric, T0 + 600, T0 + 1200);

      // The faulty service is the most anomalous in the indicator, relative to its own baseline.
      const ratios = model
        .services()
        .filter((s) => model.queryMetrics({ start: T0 - 60, end: T0, service: s.name, metric: c.indicator }).series.length > 0)
        .map((s) => ({ service: s.name, ratio: during(s.name) / baseline(s.name) }))
        .sort((a, b) => b.ratio - a.ratio);
      assert.equal(ratios[0]?.service, c.service, JSON.stringify(ratios.slice(0, 3)));
      assert.ok((ratios[0]?.ratio ?? 0) > 1.8, `${c.indicator} ratio ${ratios[0]?.ratio}`);

      // Its caller degrades (errors or latency); an unrelated service does not.
      const callerErr = during(c.caller, 'error_rate') / baseline(c.caller, 'error_rate');
      const callerLat = during(c.caller, 'latency_p99_seconds') / baseline(c.caller, 'latency_p99_seconds');
      assert.ok(callerErr > 3 || callerLat > 1.5, `${c.caller}: errors x${callerErr.toFixed(2)}, latency x${callerLat.toFixed(2)}`);
      for (const metric of ['error_rate', 'latency_p99_seconds', 'cpu_usage', 'memory_usage']) {
        const r = during(c.unrelated, metric) / baseline(c.unrelated, metric);
        assert.ok(r < 1.3, `${c.unrelated} ${metric} x${r.toFixed(2)}`);
      }

      // A wrong action leaves the fault in place.
      c.wrong(model);
      const wrongAt = sim.now();
      sim.advance(600);
      assert.equal(model.fault(id)?.status, 'active');
      const still = mean(model, c.service, c.indicator, wrongAt + 300, wrongAt + 600) / baseline(c.service);
      assert.ok(still > 1.8, `after the wrong action ${c.indicator} x${still.toFixed(2)}`);

      // The documented fix ends it: the indicator returns to its baseline shortly after.
      const out = c.fix(model);
      assert.equal(out.ok, true);
      const fixedAt = sim.now();
      sim.advance(900);
      const fault = model.fault(id);
      assert.deepEqual([fault?.status, fault?.resolvedAt], ['resolved', fixedAt]);
      const after = mean(model, c.service, c.indicator, fixedAt + 120, fixedAt + 900) / baseline(c.service);
      assert.ok(after < 1.3, `after the fix ${c.indicator} x${after.toFixed(2)}`);
      const callerAfter = mean(model, c.caller, 'error_rate', fixedAt + 120, fixedAt + 900);
      assert.ok(callerAfter < 3 * baseline(c.caller, 'error_rate') + 0.002, `${c.caller} error rate after the fix ${callerAfter}`);
    });
  }
});

void describe('fault edge cases', () => {
  void test('rolling forward to the bad release brings the fault back', () => {
    const sim = clockedModel();
    const id = sim.model.inject({ kind: 'bad-release', service: 'shipping' });
    sim.advance(120);
    sim.model.rollback('shipping', 'shipping@1.9.3', 'edge:rollback');
    sim.advance(300);
    sim.model.rollback('shipping', 'shipping@1.10.0', 'edge:roll-forward');
    const back = sim.now();
    sim.advance(300);
    assert.equal(sim.model.fault(id)?.status, 'active');
    assert.equal(sim.model.fault(id)?.episodes.length, 2);
    assert.ok(mean(sim.model, 'shipping', 'error_rate', back + 60, back + 300) > 0.2);
  });

  void test('scaling a service to zero fails its callers until it is scaled back', () => {
    const sim = clockedModel();
    sim.advance(60);
    sim.model.scale('payment', 0, 'edge:scale-zero');
    const down = sim.now();
    sim.advance(300);
    assert.equal(sim.model.queryMetrics({ start: down + 30, end: down + 300, service: 'payment' }).series.length, 0);
    assert.ok(mean(sim.model, 'checkout', 'error_rate', down + 60, down + 300) > 0.3);
    assert.ok(sim.model.searchLogs({ start: down + 30, end: down + 300, service: 'checkout', contains: 'ECONNREFUSED' }).logs.length > 0);
    sim.model.scale('payment', 3, 'edge:scale-back');
    const up = sim.now();
    sim.advance(300);
    assert.ok(mean(sim.model, 'checkout', 'error_rate', up + 90, up + 300) < 0.01);
  });

  void test('clearing faults ends them now but keeps their history', () => {
    const sim = clockedModel();
    sim.model.inject({ kind: 'cpu-saturation', service: 'cart' });
    sim.advance(300);
    assert.equal(sim.model.clearFaults(), 1);
    const cleared = sim.now();
    sim.advance(600);
    assert.equal(sim.model.faults()[0]?.resolvedBy, 'cleared');
    assert.ok(mean(sim.model, 'cart', 'cpu_usage', T0 + 120, cleared) > 0.9);
    assert.ok(mean(sim.model, 'cart', 'cpu_usage', cleared + 120, sim.now()) < 0.4);
  });

  void test('a fault that does not fit the service is refused with the field to fix', () => {
    const sim = clockedModel();
    assert.throws(() => sim.model.inject({ kind: 'db-pool-exhaustion', service: 'cart' }), { code: 'invalid_fault', field: 'service' });
    assert.throws(() => sim.model.inject({ kind: 'bad-flag', service: 'payments-db' }), { code: 'invalid_fault', field: 'service' });
    assert.throws(() => sim.model.inject({ kind: 'cpu-saturation', service: 'nope' }), { code: 'invalid_fault', field: 'service' });
  });
});
