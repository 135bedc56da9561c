/**
 * The text summary `vigil eval` prints: vigil's AC@k and Avg@5 in one table with the
 * published results of dataset.json, the run's size, speed and memory, and the
 * calibration of the reasoner's confidence (ECE and the reliability table).
 */
import type { Accuracy } from './scoring.js';
import type { EvalSummary } from './run-eval.js';

const METRICS = ['AC@1', 'AC@3', 'AC@5', 'Avg@5'] as const;

const num = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '-' : v.toFixed(digits));

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => pad(r, widths));
}

function mb(bytes: number | null): string {
  return bytes === null ? 'n/a' : `${Math.round(bytes / 1024 / 1024)} MB`;
}

function duration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m}m${String(s).padStart(2, '0')}s` : `${seconds.toFixed(1)}s`;
}

const row = (name: string, a: Accuracy, scope: string) => [name, ...METRICS.map((m) => num(a[m])), scope];

export function formatSummary(s: EvalSummary): string {
  const out: string[] = [];
  out.push(`vigil eval ${s.dataset}: ${s.casesRun} of ${s.casesTotal} cases run, ${s.casesFailed} failed, ${s.casesScored} scored (commit ${s.vigilCommit ?? 'unknown'}, ${s.startedAt.slice(0, 10)})`);
  out.push('');
  const rows: string[][] = [['method', ...METRICS, 'scope']];
  if (s.accuracy) {
    rows.push(row('vigil (this run)', s.accuracy, `all ${s.accuracy.n} scored cases`));
    const types = Object.entries(s.byFaultType ?? {});
    if (types.length > 1) for (const [type, a] of types) rows.push(row('vigil (this run)', a, `fault type ${type} (${a.n} cases)`));
  } else {
    rows.push(['vigil (this run)', '-', '-', '-', '-', 'no truth.json: rankings only']);
  }
  const groups = new Map<string, { method: string; scope: string; values: Partial<Record<string, number>> }>();
  for (const p of s.published) {
    const key = `${p.method}\u0000${p.scope ?? ''}`;
    const g = groups.get(key) ?? { method: p.method, scope: p.scope ?? '', values: {} };
    g.values[p.metric] = p.value;
    groups.set(key, g);
  }
  for (const g of groups.values()) rows.push([g.method, ...METRICS.map((m) => num(g.values[m])), `published: ${g.scope}`]);
  out.push(...table(rows));
  out.push('');
  out.push(
    `run: ${s.casesRun} cases in ${duration(s.wallSeconds)} (setup ${duration(s.setupSeconds)}), ${s.casesPerMinute.toFixed(1)} cases/min at concurrency ${s.concurrency}; ` +
      `peak memory ${mb(s.peakRssBytes.eval)} (workers, replay servers, ingest)` +
      (s.peakRssBytes.temporal !== null ? ` + ${mb(s.peakRssBytes.temporal)} (embedded Temporal)` : ''),
  );
  const reasoners = Object.entries(s.reasoners).map(([r, n]) => `${r} ${n}`).join(', ') || 'none';
  out.push(`Temporal: ${s.temporal.address}; baseline placement: ${s.baseline}; reasoner: ${reasoners}`);
  if (s.casesWithMissingSources > 0) out.push(`cases where a telemetry source failed (recorded as missing): ${s.casesWithMissingSources}`);
  const c = s.calibration;
  if (c) {
    out.push('');
    out.push(`calibration of the reasoner's confidence against its root cause being right (top-1, ${c.n} cases):`);
    out.push(`  ECE ${num(c.ece)} over ${c.bins.length} bins; mean confidence ${num(c.meanConfidence)}, top-1 accuracy ${num(c.top1Accuracy)}`);
    const t = c.threshold;
    out.push(
      `  confidence >= ${t.value}: ${t.atOrAbove.count} cases, top-1 accuracy ${num(t.atOrAbove.accuracy)}; ` +
        `< ${t.value} (a person is asked): ${t.below.count} cases, top-1 accuracy ${num(t.below.accuracy)}`,
    );
    const bins = [['  bin', 'count', 'mean confidence', 'top-1 accuracy'], ...c.bins.map((b) => [`  ${b.bin}`, String(b.count), num(b.meanConfidence), num(b.accuracy)])];
    out.push(...table(bins.map((r) => [...r, ''])));
  }
  if (s.failures.length > 0) {
    out.push('');
    out.push(`failed cases (${s.failures.length}):`);
    for (const f of s.failures.slice(0, 20)) out.push(`  ${f.id}: ${f.error}`);
    if (s.failures.length > 20) out.push(`  ... and ${s.failures.length - 20} more`);
  }
  return `${out.join('\n')}\n`;
}
