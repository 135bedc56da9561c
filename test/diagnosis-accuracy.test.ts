/** The diagnosis-accuracy SLIs: the pure computation, the monitor behind /metrics, the file store's window, `vigil slis`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FileKnowledgeStore } from '../src/knowledge/knowledge-store.js';
import { AccuracyMonitor } from '../src/observability/accuracy-monitor.js';
import { AccuracyConfig } from '../src/observability/config.js';
import { computeAccuracySlis, describeAccuracySlis, scoreDiagnosis } from '../src/observability/diagnosis-accuracy.js';
import { GaugeSet } from '../src/observability/gauges.js';
import { writeReportFiles } from '../src/report/report-store.js';
import { IncidentStatus } from '../src/schemas/incident.js';
import { tempDir } from './support/temporal.js';

const NOW = Date.parse('2026-11-30T12:00:00.000Z');
const DAY = 86_400;
const daysAgo = (d: number, now = NOW) => new Date(now - d * DAY * 1000).toISOString();

interface Spec {
  id: string;
  /** Candidate services in rank order. */
  candidates?: string[];
  /** The inference's root cause; null = "unknown"; undefined = no inference at all. */
  inferred?: string | null;
  confidence?: number;
  confirmed?: string;
  helpful?: boolean | null;
  /** A person overrode the root cause to this service during the incident. */
  override?: string;
  closedDaysAgo?: number;
}

function incident(p: Spec, now = NOW): IncidentStatus {
  const closedAt = daysAgo(p.closedDaysAgo ?? 1, now);
  const candidates = p.candidates ?? [];
  const acted = p.override ?? p.inferred ?? null;
  return IncidentStatus.parse({
    incidentId: p.id,
    stage: 'closed',
    severity: 'P2',
    title: `incident ${p.id}`,
    alerts: [{ fingerprint: `fp-${p.id}`, status: 'firing', labels: { alertname: 'HighErrorRate', service: 'frontend' }, annotations: {}, startsAt: closedAt, source: 'test' }],
    evidence: [],
    missingSources: [],
    topologyServices: ['frontend', 'checkout', 'payment', 'cart', 'inventory', 'shipping', 'payment-db', 'cache'],
    candidates: candidates.map((service, i) => ({ service, score: 1 - i / 10, reasons: [], findingIds: [] })),
    history: null,
    inference:
      p.inferred === undefined
        ? null
        : { reasoner: 'builtin', rootCause: p.inferred === null ? null : { service: p.inferred }, confidence: p.confidence ?? 0.8, reasoning: [], evidenceRefs: [], decidedBy: 'builtin', handOff: false, notes: [] },
    rootCause: acted ? { service: acted } : null,
    plan: null,
    checkpoint: null,
    decisions: p.override ? [{ kind: 'override', actor: 'commander@local', at: closedAt, accepted: true, policyVersion: 'v1', rootCauseService: p.override }] : [],
    saga: null,
    verification: null,
    outcome: 'no-action',
    policyVersion: 'v1',
    timeline: [
      { at: daysAgo((p.closedDaysAgo ?? 1) + 0.01, now), stage: 'intake', note: 'alert received' },
      { at: closedAt, stage: 'closed', note: 'no-action' },
    ],
    report: null,
    ...(p.confirmed
      ? { feedback: { confirmedRootCause: p.confirmed, correct: p.confirmed === acted, inferred: acted, helpful: p.helpful ?? null, by: 'commander@local', at: closedAt } }
      : {}),
  });
}

const OPTS = { now: NOW, windowSeconds: 30 * DAY, confidenceThreshold: 0.6 };

void test('no labelled incidents: every ratio is absent (not 0), the counts say why', () => {
  const a = computeAccuracySlis([incident({ id: 'a', candidates: ['payment'], inferred: 'payment' }), incident({ id: 'b', candidates: ['cart'], inferred: 'cart' })], OPTS);
  assert.deepEqual(a.incidents, { closed: 2, labelled: 0, unlabelled: 2, scored: 0, confirmedNotRanked: 0, overridden: 0 });
  assert.deepEqual(a.accuracy, { top1: { value: null, samples: 0 }, top3: { value: null, samples: 0 }, top5: { value: null, samples: 0 } });
  assert.deepEqual(a.helpful, { value: null, samples: 0 });
  assert.equal(a.calibration.samples, 0);
  assert.equal(a.calibration.ece, null);
  assert.match(describeAccuracySlis(a), /no labelled incidents in the window: label closed incidents with `vigil close/);
  assert.equal(computeAccuracySlis([], OPTS).incidents.closed, 0);
});

void test('top-1/3/5 from the confirmed service rank; a cause outside the candidates is a miss at every k', () => {
  const ranked = ['payment', 'checkout', 'cart', 'inventory', 'shipping', 'cache'];
  const a = computeAccuracySlis(
    [
      incident({ id: 'right', candidates: ranked, inferred: 'payment', confirmed: 'payment', helpful: true }),
      incident({ id: 'third', candidates: ranked, inferred: 'payment', confirmed: 'cart', helpful: false }),
      incident({ id: 'fifth', candidates: ranked, inferred: 'payment', confirmed: 'shipping' }),
      incident({ id: 'absent', candidates: ranked, inferred: 'payment', confirmed: 'payment-db', helpful: false }),
      incident({ id: 'unlabelled', candidates: ranked, inferred: 'payment' }),
    ],
    OPTS,
  );
  assert.deepEqual(a.incidents, { closed: 5, labelled: 4, unlabelled: 1, scored: 4, confirmedNotRanked: 1, overridden: 0 });
  assert.deepEqual(a.accuracy.top1, { value: 0.25, samples: 4 });
  assert.deepEqual(a.accuracy.top3, { value: 0.5, samples: 4 });
  assert.deepEqual(a.accuracy.top5, { value: 0.75, samples: 4 });
  assert.deepEqual(a.helpful, { value: 1 / 3, samples: 3 }, 'only rated incidents count for the helpful rate');
  assert.equal(scoreDiagnosis(incident({ id: 'absent', candidates: ranked, inferred: 'payment', confirmed: 'payment-db' })).rank, null);
});

void test("an override during the incident is the person's answer: confirming it does not count as vigil being right", () => {
  // vigil inferred checkout (confidence 0.9); the commander overrode to payment and confirmed payment at close.
  const overridden = incident({ id: 'ov', candidates: ['checkout', 'payment'], inferred: 'checkout', confidence: 0.9, override: 'payment', confirmed: 'payment' });
  assert.equal(overridden.feedback?.correct, true, 'the close label says the acted-on root cause was right');
  const a = computeAccuracySlis([overridden], OPTS);
  assert.deepEqual(a.accuracy.top1, { value: 0, samples: 1 });
  assert.deepEqual(a.accuracy.top3, { value: 1, samples: 1 }, 'payment was vigil\'s second candidate');
  assert.equal(a.incidents.overridden, 1);
  assert.deepEqual(a.calibration.atOrAbove, { value: 0, samples: 1 }, 'a confident wrong answer');
});

void test('a label that corrects the inference counts against it; the inferred cause goes first in the ranking scored', () => {
  // The LLM disputed the ranking and concluded cart (3rd candidate); the commander confirmed cart.
  const disputed = incident({ id: 'llm', candidates: ['payment', 'checkout', 'cart'], inferred: 'cart', confirmed: 'cart' });
  assert.deepEqual(scoreDiagnosis(disputed).ranking, ['cart', 'payment', 'checkout']);
  const corrected = incident({ id: 'fix', candidates: ['payment', 'checkout'], inferred: 'payment', confirmed: 'checkout' });
  const unknown = incident({ id: 'unk', candidates: ['payment', 'checkout'], inferred: null, confirmed: 'payment' });
  const a = computeAccuracySlis([disputed, corrected, unknown], OPTS);
  assert.deepEqual(a.accuracy.top1, { value: 1 / 3, samples: 3 }, 'an "unknown" inference is never top-1 right');
  assert.deepEqual(a.accuracy.top3, { value: 1, samples: 3 });
  for (const x of [a.accuracy.top1, a.accuracy.top3, a.accuracy.top5]) assert.ok(x.value !== null);
  assert.ok((a.accuracy.top1.value ?? 0) <= (a.accuracy.top3.value ?? 0) && (a.accuracy.top3.value ?? 0) <= (a.accuracy.top5.value ?? 0));
});

void test('calibration: accuracy at or above vs below the confidence threshold, mean confidence and ECE', () => {
  const a = computeAccuracySlis(
    [
      incident({ id: 'h1', candidates: ['payment'], inferred: 'payment', confidence: 0.9, confirmed: 'payment' }),
      incident({ id: 'h2', candidates: ['payment'], inferred: 'payment', confidence: 0.9, confirmed: 'payment' }),
      incident({ id: 'h3', candidates: ['payment', 'cart'], inferred: 'payment', confidence: 0.7, confirmed: 'cart' }),
      incident({ id: 'l1', candidates: ['cart', 'payment'], inferred: 'cart', confidence: 0.4, confirmed: 'payment' }),
      // No inference at all (only a ranking): scored for top-k, not for calibration.
      incident({ id: 'noinf', candidates: ['cart'], confirmed: 'cart' }),
      // Never diagnosed (no inference, no candidates): labelled but not scored.
      incident({ id: 'undiag', confirmed: 'cart', helpful: true }),
    ],
    OPTS,
  );
  assert.equal(a.incidents.labelled, 6);
  assert.equal(a.incidents.scored, 5);
  assert.deepEqual(a.accuracy.top1, { value: 3 / 5, samples: 5 }, 'without an inference the first candidate is the answer');
  assert.deepEqual(a.calibration.atOrAbove, { value: 2 / 3, samples: 3 });
  assert.deepEqual(a.calibration.below, { value: 0, samples: 1 });
  assert.equal(a.calibration.samples, 4);
  assert.ok(Math.abs((a.calibration.meanConfidence ?? 0) - 0.725) < 1e-9);
  // bins: 0.9 (2, both right): |1-0.9|; 0.7 (1, wrong): |0-0.7|; 0.4 (1, wrong): |0-0.4|
  assert.ok(Math.abs((a.calibration.ece ?? 0) - ((2 / 4) * 0.1 + (1 / 4) * 0.7 + (1 / 4) * 0.4)) < 1e-9);
  assert.match(describeAccuracySlis(a), /confidence >= 0\.6: top-1 accuracy 66\.7% \(3 incidents\)/);
});

void test('only incidents closed within the window count, each once', () => {
  const inside = incident({ id: 'in', candidates: ['payment'], inferred: 'payment', confirmed: 'payment', closedDaysAgo: 29 });
  const outside = incident({ id: 'out', candidates: ['payment'], inferred: 'payment', confirmed: 'cart', closedDaysAgo: 31 });
  const a = computeAccuracySlis([inside, outside, inside], OPTS);
  assert.equal(a.incidents.closed, 1);
  assert.deepEqual(a.accuracy.top1, { value: 1, samples: 1 });
  assert.equal(a.window.from, daysAgo(30));
  assert.equal(computeAccuracySlis([inside, outside], { ...OPTS, windowSeconds: 7 * DAY }).incidents.closed, 0);
});

// ---------- the monitor behind /metrics ----------

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

void test('the monitor recomputes when due or after a close, keeps its values when the store fails, and says so', async () => {
  let now = NOW;
  let incidents = [incident({ id: 'a', candidates: ['payment'], inferred: 'payment', confirmed: 'payment', helpful: true })];
  let failing = false;
  let reads = 0;
  const store = {
    location: 'memory',
    listIncidents: (o: { limit: number; closedSince?: string }) => {
      reads += 1;
      if (failing) return Promise.reject(new Error('connection refused'));
      return Promise.resolve(incidents.filter((s) => o.closedSince === undefined || (s.timeline.at(-1)?.at ?? '') >= o.closedSince).slice(0, o.limit));
    },
  };
  const monitor = new AccuracyMonitor({ store, config: AccuracyConfig.parse({ refreshSeconds: 60 }), now: () => now });
  const gauges = new GaugeSet();
  monitor.registerGauges(gauges);
  assert.equal(metricValue(gauges.render(), 'vigil_diagnosis_sli{sli="top1_accuracy"}'), undefined, 'nothing before the first computation');

  await monitor.refreshIfDue();
  let text = gauges.render();
  assert.equal(metricValue(text, 'vigil_diagnosis_sli{sli="top1_accuracy"}'), 1);
  assert.equal(metricValue(text, 'vigil_diagnosis_sli_samples{sli="top1_accuracy"}'), 1);
  assert.equal(metricValue(text, 'vigil_diagnosis_incidents{state="labelled"}'), 1);
  assert.equal(metricValue(text, 'vigil_diagnosis_sli_window_seconds'), 30 * DAY);
  assert.equal(metricValue(text, 'vigil_diagnosis_sli_refresh_ok'), 1);

  incidents = [...incidents, incident({ id: 'b', candidates: ['payment', 'cart'], inferred: 'payment', confirmed: 'cart' })];
  now += 10_000;
  await monitor.refreshIfDue();
  assert.equal(reads, 1, 'not due yet: served from the last computation');
  monitor.markStale();
  await monitor.refreshIfDue();
  assert.equal(reads, 2, 'an incident closed: recomputed');
  assert.equal(metricValue(gauges.render(), 'vigil_diagnosis_sli{sli="top1_accuracy"}'), 0.5);

  failing = true;
  now += 61_000;
  await monitor.refreshIfDue();
  text = gauges.render();
  assert.equal(metricValue(text, 'vigil_diagnosis_sli_refresh_ok'), 0);
  assert.equal(metricValue(text, 'vigil_diagnosis_sli{sli="top1_accuracy"}'), 0.5, 'the previous values are kept');
  failing = false;
  await monitor.refreshIfDue();
  assert.equal(metricValue(gauges.render(), 'vigil_diagnosis_sli_refresh_ok'), 1, 'a failed read is retried at the next scrape');
});

void test('a scrape waits at most refreshWaitMs for a slow store, then serves the previous values', async () => {
  let release: (() => void) | undefined;
  const store = {
    location: 'slow',
    listIncidents: () => new Promise<IncidentStatus[]>((resolve) => (release = () => resolve([]))),
  };
  const monitor = new AccuracyMonitor({ store, config: AccuracyConfig.parse({ refreshWaitMs: 50 }) });
  const started = Date.now();
  await monitor.refreshIfDue();
  assert.ok(Date.now() - started < 2000);
  assert.equal(monitor.current(), undefined);
  release?.();
  await monitor.refresh();
  assert.equal(monitor.current()?.incidents.closed, 0);
});

void test('the file store lists only incidents closed within the window, skipping report files last written before it', async () => {
  const now = Date.now();
  const dir = join(tempDir('accuracy-files'), 'reports');
  await writeReportFiles(dir, incident({ id: 'recent', candidates: ['payment'], inferred: 'payment', closedDaysAgo: 2 }, now), {});
  await writeReportFiles(dir, incident({ id: 'old', candidates: ['payment'], inferred: 'payment', closedDaysAgo: 40 }, now), {});
  // A report claiming a recent close whose file was last written 40 days ago is not read (the file time bounds the close time).
  const stale = await writeReportFiles(dir, incident({ id: 'stale', candidates: ['payment'], inferred: 'payment', closedDaysAgo: 1 }, now), {});
  const then = new Date(daysAgo(40, now));
  utimesSync(stale.jsonPath, then, then);
  const store = new FileKnowledgeStore({ reportsDir: dir });
  assert.deepEqual((await store.listIncidents({ limit: 10, closedSince: daysAgo(30, now) })).map((s) => s.incidentId), ['recent']);
  assert.deepEqual((await store.listIncidents({ limit: 10 })).map((s) => s.incidentId), ['stale', 'recent', 'old']);
  await assert.rejects(store.listIncidents({ limit: 10, closedSince: 'yesterday' }), /closedSince is not a time/);
});

// ---------- vigil slis ----------

function vigil(args: string[]) {
  return spawnSync(process.execPath, ['bin/vigil.js', ...args], { encoding: 'utf8', timeout: 60_000 });
}

void test('vigil slis refuses a bad window, and says there are no labels yet on an empty data directory', () => {
  const dataDir = tempDir('slis-empty');
  const bad = vigil(['slis', '--window', 'a fortnight', '--data-dir', dataDir]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--window must be a positive duration like 30d/);
  const r = vigil(['slis', '--data-dir', dataDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /closed incidents: 0, labelled 0, unlabelled 0/);
  assert.match(r.stdout, /no labelled incidents in the window/);
});
