/**
 * Decides whether symptoms are back to normal: the recent values of each service's error
 * and latency indicators compared with the pre-incident baseline (median + k·MAD).
 * Pure: the activity fetches the series.
 */
import type { MetricSeries } from '../schemas/telemetry.js';
import type { Verification } from '../schemas/incident.js';

export const SYMPTOM_METRICS = ['error_rate', 'latency_p99_seconds'] as const;

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

export function judgeRecovery(input: {
  baseline: MetricSeries[];
  recent: MetricSeries[];
  toleranceMads: number;
}): Verification {
  const checks: Verification['checks'] = [];
  const key = (s: MetricSeries) => `${s.service}|${s.metric}`;
  const group = (list: MetricSeries[]) => {
    const m = new Map<string, { service: string; metric: string; values: number[] }>();
    for (const s of list) {
      const g = m.get(key(s)) ?? { service: s.service, metric: s.metric, values: [] };
      for (const [, v] of s.points) g.values.push(v);
      m.set(key(s), g);
    }
    return m;
  };
  const base = group(input.baseline);
  for (const [k, r] of group(input.recent)) {
    const b = base.get(k);
    if (!b || b.values.length === 0 || r.values.length === 0) continue;
    const med = median(b.values);
    const mad = median(b.values.map((v) => Math.abs(v - med)));
    const threshold = med + input.toleranceMads * Math.max(mad, Math.abs(med) * 0.05, 1e-6);
    const observed = median(r.values);
    checks.push({ service: r.service, metric: r.metric, baseline: med, threshold, observed, ok: observed <= threshold });
  }
  const bad = checks.filter((c) => !c.ok);
  const recovered = checks.length > 0 && bad.length === 0;
  const summary =
    checks.length === 0
      ? 'no symptom metrics to verify against: not confirmed as recovered'
      : recovered
        ? `recovered: ${checks.length} symptom indicator(s) back under baseline thresholds`
        : `still abnormal: ${bad.map((c) => `${c.service} ${c.metric} ${c.observed.toPrecision(3)} > ${c.threshold.toPrecision(3)}`).join(', ')}`;
  return { recovered, checks, summary };
}
