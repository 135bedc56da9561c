/**
 * Runs the analyses and the ranking over every case of the development datasets and
 * reports AC@1 / AC@3 / AC@5 / Avg@5 per dataset, and the expected calibration error
 * (10 bins) with a reliability table of the reasoner's confidence (truth.json is read
 * only to score).
 *   node --import tsx scripts/rank-dataset.ts [dataset,...] [--out results-dir] [--hypotheses N (default 3)] [--verbose]
 * With --out, writes <dataset>.json in the format of ../shared/datasets/score.py.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listCases, loadCase, loadTruth, type LoadedCase } from '../test/support/load-case.js';
import { analyzeMetrics, analyzeMetricsWithBaseline } from '../src/analysis/metrics.js';
import { analyzeLogs } from '../src/analysis/log-templates.js';
import { analyzeTraces } from '../src/analysis/traces.js';
import { analyzeTopology } from '../src/analysis/topology.js';
import { rankCandidates } from '../src/ranking/rank-candidates.js';
import { inferRootCause } from '../src/reasoner/builtin-reasoner.js';
import type { Candidate, SourceEvidence } from '../src/schemas/evidence.js';
import type { Hypothesis } from '../src/schemas/incident.js';
import type { Span } from '../src/schemas/telemetry.js';
import { judgeHypothesis } from '../src/hypothesis/judge-hypothesis.js';
import { rerankWithHypotheses } from '../src/hypothesis/rerank.js';
import { levelValue } from '../src/simulator/logs.js';

/**
 * The workflow's diagnosis, offline: the analyses of the case window against the
 * case's separate baseline (as `vigil eval`'s default `separate` mode serves it), the
 * ranking, then the leading hypotheses judged from their own service's telemetry and
 * the re-ranking, as IncidentWorkflow and HypothesisWorkflow do.
 */
export function diagnoseCase(c: LoadedCase, options: { hypotheses?: number } = {}): { candidates: Candidate[]; evidence: SourceEvidence[] } {
  const { incidentStart } = c;
  const evidence: SourceEvidence[] = [];
  const baseMetrics = c.baseline?.metrics ?? [];
  const baseSpans = c.baseline?.spans ?? [];
  evidence.push(
    baseMetrics.length > 0
      ? analyzeMetricsWithBaseline({ series: c.telemetry.metrics, baselineSeries: baseMetrics, incidentStart })
      : analyzeMetrics({ series: c.telemetry.metrics, incidentStart }),
  );
  if (c.telemetry.logs.length > 0) evidence.push(analyzeLogs({ logs: c.telemetry.logs, incidentStart }));
  if (c.telemetry.spans.length > 0)
    evidence.push(analyzeTraces({ spans: c.telemetry.spans, incidentStart, ...(baseSpans.length > 0 ? { baselineSpans: baseSpans } : {}) }));
  evidence.push(analyzeTopology({ topology: c.topology, alertedServices: c.alertedServices, incidentStart }));
  const ranked = rankCandidates({
    evidence,
    topology: c.topology,
    alertedServices: c.alertedServices,
    incidentStart,
    alerts: [{ labels: c.alert.labels, annotations: c.alert.annotations ?? {} }],
  });
  const leading = ranked.slice(0, options.hypotheses ?? 3);
  if (leading.length === 0) return { candidates: ranked, evidence };
  const incidentFindings = evidence.flatMap((e) => e.findings);
  const touching = (service: string, spans: readonly Span[]): Span[] => {
    const traces = new Set(spans.filter((s) => s.service === service).map((s) => s.trace_id));
    return spans.filter((s) => traces.has(s.trace_id));
  };
  const hypotheses: Hypothesis[] = leading.map((cand, i) => ({
    service: cand.service,
    rank: i + 1,
    toolCalls: 0,
    ...judgeHypothesis({
      service: cand.service,
      incidentStart,
      series: c.telemetry.metrics.filter((s) => s.service === cand.service),
      logs: c.telemetry.logs.filter((l) => l.service === cand.service && (levelValue(l.level ?? 'info') ?? 0) >= (levelValue('warn') ?? 0)),
      spans: touching(cand.service, c.telemetry.spans),
      topology: c.topology,
      incidentFindings,
      baselineSeries: baseMetrics.filter((s) => s.service === cand.service),
      baselineSpans: touching(cand.service, baseSpans),
    }),
  }));
  return { candidates: rerankWithHypotheses(ranked, hypotheses), evidence };
}

/** One prediction for calibration: the reasoner's confidence and whether its top pick was right. */
export interface CalibrationPoint {
  confidence: number;
  correct: boolean;
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanConfidence: number;
  accuracy: number;
}

/**
 * Reliability table over `bins` equal-width confidence bins and the expected
 * calibration error: Σ_b (n_b / N) · |accuracy_b − mean confidence_b|.
 */
export function calibration(points: readonly CalibrationPoint[], bins = 10): { ece: number; table: ReliabilityBin[] } {
  const table: ReliabilityBin[] = Array.from({ length: bins }, (_, i) => ({ lo: i / bins, hi: (i + 1) / bins, count: 0, meanConfidence: 0, accuracy: 0 }));
  for (const p of points) {
    const b = table[Math.min(bins - 1, Math.max(0, Math.floor(p.confidence * bins)))];
    if (!b) continue;
    b.count++;
    b.meanConfidence += p.confidence;
    b.accuracy += p.correct ? 1 : 0;
  }
  let ece = 0;
  for (const b of table) {
    if (b.count === 0) continue;
    b.meanConfidence /= b.count;
    b.accuracy /= b.count;
    ece += (b.count / Math.max(points.length, 1)) * Math.abs(b.accuracy - b.meanConfidence);
  }
  return { ece, table };
}

function printCalibration(label: string, points: readonly CalibrationPoint[]): void {
  const { ece, table } = calibration(points);
  console.log(`${label}: ECE ${ece.toFixed(3)} (10 bins, ${points.length} cases)`);
  for (const b of table)
    if (b.count > 0)
      console.log(
        `    [${b.lo.toFixed(1)}, ${b.hi.toFixed(1)}${b.hi >= 1 ? ']' : ')'}  n=${String(b.count).padStart(3)}  confidence ${b.meanConfidence.toFixed(2)}  accuracy ${b.accuracy.toFixed(2)}`,
      );
}

function main(): void {
  const args = process.argv.slice(2);
  const verbose = args.includes('--verbose');
  const hIdx = args.indexOf('--hypotheses');
  const hypotheses = hIdx >= 0 ? Number(args[hIdx + 1]) : 3;
  const outIdx = args.indexOf('--out');
  const outDir = outIdx >= 0 ? args[outIdx + 1] : undefined;
  const names = args.find((a, i) => !a.startsWith('--') && (outIdx < 0 || i !== outIdx + 1) && (hIdx < 0 || i !== hIdx + 1));
  const datasets = (names ?? 'sockshop-rcd,petshop,nezha-ob').split(',');
  const allPoints: CalibrationPoint[] = [];
  for (const ds of datasets) {
    const points: CalibrationPoint[] = [];
    const hits = [0, 0, 0, 0, 0];
    let n = 0;
    let confSum = 0;
    const results: { id: string; ranking: { service: string; score: number }[] }[] = [];
    for (const id of listCases(ds)) {
      const c = loadCase(ds, id);
      const { candidates, evidence } = diagnoseCase(c, { hypotheses });
      const verdict = inferRootCause({ candidates, evidence });
      confSum += verdict.confidence;
      results.push({ id, ranking: candidates.map((x) => ({ service: x.service, score: x.score })) });
      const truth = loadTruth(ds, id);
      const pos = candidates.findIndex((x) => x.service === truth.service);
      n++;
      points.push({ confidence: verdict.confidence, correct: verdict.rootCause?.service === truth.service });
      for (let k = 0; k < 5; k++) if (pos >= 0 && pos <= k) hits[k] = (hits[k] ?? 0) + 1;
      if (verbose && pos !== 0)
        console.log(
          `  ${id} truth=${truth.service} (${truth.fault_type ?? ''}) pos=${pos} conf=${verdict.confidence.toFixed(2)} top: ${candidates
            .slice(0, 3)
            .map((x) => `${x.service}(${x.score.toFixed(2)},${x.indicator ?? ''})`)
            .join(' ')}`,
        );
    }
    const ac = hits.map((h) => h / Math.max(n, 1));
    const avg5 = ac.reduce((a, b) => a + b, 0) / 5;
    console.log(
      `${ds}: cases ${n}  AC@1 ${ac[0]?.toFixed(3)}  AC@3 ${ac[2]?.toFixed(3)}  AC@5 ${ac[4]?.toFixed(3)}  Avg@5 ${avg5.toFixed(3)}  mean confidence ${(confSum / Math.max(n, 1)).toFixed(2)}`,
    );
    printCalibration(`${ds} confidence`, points);
    allPoints.push(...points);
    if (outDir) {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(join(outDir, `${ds}.json`), JSON.stringify({ cases: results }, null, 1));
    }
  }
  if (datasets.length > 1) printCalibration('all datasets confidence', allPoints);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) main();
