/**
 * Metric anomaly analysis: for every service/instance/metric series, compare the
 * incident window (t >= incidentStart) with a baseline using robust statistics
 * (median and MAD with a floor, see robust-stats.ts), in the spirit of BARO /
 * N-Sigma: the anomaly score is the robust z-score of a high quantile of the
 * incident-window points (the max for short windows), so a single spike in a long
 * window does not dominate. Both directions are scored; a move in the direction a
 * metric is "healthy" in (latency down, success rate up) is discounted by half.
 * The onset is the first of k consecutive points outside the baseline band.
 * Against a separate fault-free baseline, a window whose high points that baseline
 * reaches about as often is no anomaly (usualForReference).
 * Pure and deterministic.
 */
import type { MetricSeries } from '../schemas/telemetry.js';
import type { Finding, SourceEvidence } from '../schemas/evidence.js';
import { binomialTail, byScoreThenKey, clockTime, formatNumber, median, resolution, robustBaseline } from './robust-stats.js';

export type MetricKind =
  | 'cpu'
  | 'memory'
  | 'latency'
  | 'errors'
  | 'availability'
  | 'traffic'
  | 'network'
  | 'io'
  | 'other';

/** Coarse kind of a metric from its snake_case name. */
export function classifyMetric(metric: string): MetricKind {
  const m = metric.toLowerCase();
  if (/cpu/.test(m)) return 'cpu';
  if (/mem|heap|rss|oom/.test(m)) return 'memory';
  if (/latenc|duration|response_time|_seconds$|_ms$/.test(m)) return 'latency';
  if (/error|fail|exception|5xx|fault/.test(m)) return 'errors';
  if (/success|availab|uptime/.test(m)) return 'availability';
  if (/network|receive|transmit|bytes_(in|out)|packet/.test(m)) return 'network';
  if (/request|rate|count|ops|throughput|qps|rps/.test(m)) return 'traffic';
  if (/disk|io|syscall|fs_/.test(m)) return 'io';
  return 'other';
}

/**
 * True for a metric that measures the demand a service receives from its callers
 * rather than how it serves: request counts and rates, open or in-use connections,
 * sessions. A callee's demand moves when its callers change how they call it.
 */
export function isDemandMetric(metric: string): boolean {
  return classifyMetric(metric) === 'traffic' || /connection|session/.test(metric.toLowerCase());
}

/** Which direction of change is bad for a metric: latency up, success rate down, traffic either. */
export function badDirection(metric: string): 'up' | 'down' | 'both' {
  const kind = classifyMetric(metric);
  if (kind === 'availability') return 'down';
  if (kind === 'traffic' || kind === 'network' || kind === 'io' || kind === 'other') return 'both';
  return 'up';
}

/** Robust z-score threshold for "outside the baseline band". @default 3 */
export const BAND_Z = 3;
/** Scores are capped here so a floored scale cannot produce absurd values. */
export const MAX_SCORE = 1000;

export interface WindowScore {
  score: number;
  direction: 'up' | 'down';
  onset: number | null;
  center: number;
  /** The incident-window value the score was computed from. */
  level: number;
}

/**
 * Request volume behind a series: the median requests per sample of the baseline and
 * the requests behind each incident-window sample (from the entity's request-count series).
 */
export interface WindowVolume {
  baseline: number | undefined;
  at: (t: number) => number | undefined;
}

/** True for a per-sample request count (`request_count`, `calls_count`, ...). */
export function isRequestCount(metric: string): boolean {
  return classifyMetric(metric) === 'traffic' && /count/.test(metric.toLowerCase());
}

/**
 * Sampling-noise floor of a series' scale, from the number of requests behind each
 * sample; parameter-free (counting statistics), so sparse nodes cannot reach huge
 * z-scores on a handful of requests:
 * - a request count is Poisson: scale ≥ √max(center, 1);
 * - an availability / success share moves by one request's worth, 1/n (100/n in %);
 * - an average or quantile over n requests is noisier than the baseline's over
 *   n_b requests by √(n_b / n).
 * Without volume information the scale is unchanged.
 */
export function volumeScale(
  metric: string,
  center: number,
  scale: number,
  baselineVolume: number | undefined,
  n: number | undefined,
): number {
  if (isRequestCount(metric)) return Math.max(scale, Math.sqrt(Math.max(Math.abs(center), 1)));
  if (n === undefined) return scale;
  const kind = classifyMetric(metric);
  const m = Math.max(n, 1);
  const share = kind === 'availability' || (kind === 'errors' && /rate|ratio|percent|_pct$/.test(metric));
  if (share) return Math.max(scale, (isPercentMetric(metric) ? 100 : 1) / m);
  if (kind === 'latency' && baselineVolume !== undefined && baselineVolume > m)
    return scale * Math.sqrt(baselineVolume / m);
  return scale;
}

/**
 * The bound of an availability / success share: 100 for a percent, 1 for a fraction
 * (every baseline value within 0..1); undefined for other metrics.
 */
export function shareCapacity(metric: string, baseline: readonly number[]): number | undefined {
  if (classifyMetric(metric) !== 'availability') return undefined;
  if (isPercentMetric(metric)) return 100;
  return baseline.length > 0 && baseline.every((v) => v >= 0 && v <= 1) ? 1 : undefined;
}

/**
 * Robust baseline of a series; for an availability share, of its failure share
 * (capacity minus availability), mirrored back. Spread and MAD are the same either
 * way, but the relative floor (1% of the level) belongs to the failures: 100% → 97.8%
 * is 4 failed requests in 180 where there were none, not a 2% wobble of the successes.
 * Used only where request counts are known, so the volume floor (volumeScale: one
 * request's worth) still keeps sparse nodes quiet; without them the share's noise
 * cannot be bounded by counting and the conservative relative floor stays.
 */
export function shareBaseline(metric: string, baseline: readonly number[], magnitude: number): { center: number; scale: number } {
  const cap = shareCapacity(metric, baseline);
  if (cap === undefined) return robustBaseline(baseline, magnitude);
  const failures = robustBaseline(
    baseline.map((v) => cap - v),
    magnitude,
  );
  return { center: cap - failures.center, scale: failures.scale };
}

/**
 * The failed requests of an availability share pooled over the incident window, as a
 * z-score of the shortfall: all window samples' failed requests over all their
 * requests, against the baseline's mean failure share, on a scale of at least one
 * request's worth of the pooled volume (and the per-sample scale over √samples). An
 * error budget burns on the sum, and two samples each losing 2 of 180 requests of a
 * flawless service are 4 failures, not two one-sample wobbles. Undefined unless the
 * metric is a share and the requests behind every window sample are known.
 */
export function pooledShortfall(
  metric: string,
  baseline: readonly number[],
  window: readonly (readonly [number, number])[],
  scale: number,
  volume: WindowVolume | undefined,
): { z: number; level: number } | undefined {
  const cap = shareCapacity(metric, baseline);
  if (cap === undefined || !volume || baseline.length === 0 || window.length === 0) return undefined;
  let requests = 0;
  let failed = 0;
  for (const [t, v] of window) {
    const n = volume.at(t);
    if (n === undefined) return undefined;
    requests += n;
    failed += n * (cap - v);
  }
  if (requests <= 0) return undefined;
  const level = cap - failed / requests;
  const ref = baseline.reduce((a, v) => a + v, 0) / baseline.length;
  return { z: (ref - level) / Math.max(scale / Math.sqrt(window.length), cap / requests), level };
}

/**
 * Scores incident-window points against baseline values. Returns null when the
 * baseline has fewer than `minBaseline` points (default 2) or the window is empty.
 */
export function scoreWindow(
  baseline: readonly number[],
  window: readonly (readonly [number, number])[],
  metric = '',
  volume?: WindowVolume,
  minBaseline = 2,
): WindowScore | null {
  if (baseline.length < Math.max(1, minBaseline) || window.length === 0) return null;
  let magnitude = 0;
  for (const v of baseline) magnitude = Math.max(magnitude, Math.abs(v));
  for (const [, v] of window) magnitude = Math.max(magnitude, Math.abs(v));
  // The failure-share floor needs the counting floor beside it (request counts known).
  const base = volume?.baseline !== undefined ? shareBaseline(metric, baseline, magnitude) : robustBaseline(baseline, magnitude);
  const { center } = base;
  // A scale below one step of the instrument's resolution overstates the change.
  const scale = Math.max(base.scale, resolution([...baseline, ...window.map(([, v]) => v)]));
  const z = window.map(([t, v]) => (v - center) / volumeScale(metric, center, scale, volume?.baseline, volume?.at(t)));
  const rank = Math.floor(window.length * 0.1);
  const up = [...z].sort((a, b) => b - a);
  const down = [...z].sort((a, b) => a - b);
  const upScore = Math.max(0, up[rank] ?? 0);
  const pooled = pooledShortfall(metric, baseline, window, scale, volume);
  const downScore = Math.max(0, -(down[rank] ?? 0), pooled?.z ?? 0);
  const pooledWins = pooled !== undefined && pooled.z > -(down[rank] ?? 0);
  const bad = badDirection(metric);
  const upW = bad === 'down' ? 0.5 : 1;
  const downW = bad === 'up' ? 0.5 : 1;
  const direction: 'up' | 'down' = upScore * upW >= downScore * downW ? 'up' : 'down';
  const raw = direction === 'up' ? upScore * upW : downScore * downW;
  // The window value the score came from (its z-score is the rank's).
  const at = (zr: number | undefined): number => window[z.indexOf(zr ?? Number.NaN)]?.[1] ?? center;
  const level = direction === 'up' ? at(up[rank]) : pooledWins ? (pooled?.level ?? center) : at(down[rank]);
  const sign = direction === 'up' ? 1 : -1;
  return {
    score: Math.min(raw, MAX_SCORE),
    direction,
    onset: findOnset(window, z.map((x) => x * sign), BAND_Z),
    center,
    level,
  };
}

/** Chance above which a window's count of high points counts as the reference's usual. @default 0.05 */
export const USUAL_ALPHA = 0.05;

/**
 * Whether the reference itself reaches a window's scored level often enough to
 * account for the window: the k window points at or beyond the level (in the
 * direction of the change) are no more than chance allows at the rate p of reference
 * points at or beyond it, P(Binomial(n, p) ≥ k) ≥ USUAL_ALPHA (not even a 1-in-20
 * event at the reference's own rate). A series that spikes now and then in the
 * fault-free period (a p50 that jumps ten-fold in a quarter of its minutes) shows its
 * usual spikes in any ten-minute window; a median-and-MAD z makes each one an
 * anomaly, a count of how often it happens does not. False when the reference never
 * reaches the level (p = 0).
 */
export function usualForReference(baseline: readonly number[], window: readonly (readonly [number, number])[], r: WindowScore): boolean {
  if (baseline.length === 0 || window.length === 0) return false;
  const beyond = (v: number): boolean => (r.direction === 'up' ? v >= r.level : v <= r.level);
  const k = window.filter(([, v]) => beyond(v)).length;
  if (k === 0) return false;
  const p = baseline.filter(beyond).length / baseline.length;
  return p > 0 && binomialTail(k, window.length, p) >= USUAL_ALPHA;
}

/**
 * First time the signed z-series exceeds `threshold` for k consecutive points
 * (k = 3, or fewer for short windows); falls back to the first exceedance; null if none.
 */
export function findOnset(
  window: readonly (readonly [number, number])[],
  signedZ: readonly number[],
  threshold: number,
): number | null {
  const k = Math.max(1, Math.min(3, Math.floor(window.length / 3)));
  let firstExceed: number | null = null;
  for (let i = 0; i < signedZ.length; i++) {
    if ((signedZ[i] ?? 0) <= threshold) continue;
    if (firstExceed === null) firstExceed = i;
    let run = 1;
    while (run < k && (signedZ[i + run] ?? 0) > threshold) run++;
    if (run >= k) return window[i]?.[0] ?? null;
  }
  return firstExceed === null ? null : (window[firstExceed]?.[0] ?? null);
}

/**
 * End of a series' clean reference: incidentStart, or, when its last sample before
 * incidentStart lies less than one sampling step (the median spacing) before it,
 * that sample's time. A sample summarizes a period, and a period-start stamp (as
 * CloudWatch's) on a sample whose period contains the incident start means part of
 * the fault is in it; an end stamp (a Prometheus rate) means it is clean. Not knowing
 * which, that sample is neither reference nor incident: used as the reference it
 * can hide the very change it should expose.
 */
export function referenceEnd(points: readonly (readonly [number, number])[], incidentStart: number): number {
  const ts = points.map(([t]) => t);
  const gaps: number[] = [];
  for (let i = 1; i < ts.length; i++) {
    const g = (ts[i] ?? 0) - (ts[i - 1] ?? 0);
    if (g > 0) gaps.push(g);
  }
  if (gaps.length === 0) return incidentStart;
  const step = median(gaps);
  let last = -Infinity;
  for (const t of ts) if (t < incidentStart && t > last) last = t;
  return incidentStart - last < step ? last : incidentStart;
}

export interface AnalyzeMetricsInput {
  series: MetricSeries[];
  incidentStart: number;
  /** Baseline = points before this time. @default incidentStart */
  baselineEnd?: number;
  /** @default 50 */
  maxFindings?: number;
  /** Findings below this score are dropped. @default 3 */
  minScore?: number;
}

export interface AnalyzeMetricsWithBaselineInput {
  series: MetricSeries[];
  /** The same service/instance/metric series over a separate fault-free period. */
  baselineSeries: MetricSeries[];
  incidentStart: number;
  /** @default 50 */
  maxFindings?: number;
  /** @default 3 */
  minScore?: number;
}

function seriesKey(s: { service: string; instance: string; metric: string }): string {
  return `${s.service}\u0000${s.instance}\u0000${s.metric}`;
}

function isPercentMetric(metric: string): boolean {
  return /percent|_pct$/.test(metric);
}

function entityKey(s: { service: string; instance: string }): string {
  return `${s.service}\u0000${s.instance}`;
}

/**
 * Request counts per entity (service/instance): per-timestamp counts of the case
 * series and the median count per sample of the reference (`baselineOf` picks the
 * reference points of a count series).
 */
export function requestVolumes(
  series: readonly MetricSeries[],
  baselineOf: (s: MetricSeries) => readonly number[],
): (s: MetricSeries) => WindowVolume | undefined {
  const byEntity = new Map<string, WindowVolume>();
  for (const s of [...series].sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0))) {
    if (!isRequestCount(s.metric) || byEntity.has(entityKey(s))) continue;
    const at = new Map(s.points.map(([t, v]) => [t, v] as const));
    const base = baselineOf(s).filter(Number.isFinite);
    byEntity.set(entityKey(s), { baseline: base.length > 0 ? median(base) : undefined, at: (t) => at.get(t) });
  }
  return (s) => byEntity.get(entityKey(s));
}

/** True for an average latency (`latency_avg_seconds`, `mean_duration_ms`): requests × average is the time they took. */
export function isAverageLatency(metric: string): boolean {
  return classifyMetric(metric) === 'latency' && /(^|_)(avg|average|mean)(_|$)/.test(metric.toLowerCase());
}

/** The time a service's requests took beyond the usual over the incident window (extraTimes). */
export interface ExtraTime {
  /** Requests served over the incident window. */
  requests: number;
  /** The time they took beyond the reference's average, in seconds (negative when faster). */
  seconds: number;
}

/**
 * Per service, the time its requests took beyond the usual during the incident window:
 * Σ over window samples of requests × (average latency − the reference's median
 * average), summed over its instances, with the requests behind it. An average times a
 * count is the total time served, so it adds up along a call chain: a caller that waits
 * on a callee loses at least the time the callee added to those calls. Only entities
 * that measure both an average latency and a request count; undefined when none does.
 */
export function extraTimes(
  series: readonly MetricSeries[],
  incidentStart: number,
  referenceOf: (s: MetricSeries) => readonly number[],
  volumeOf: (s: MetricSeries) => WindowVolume | undefined,
): Record<string, ExtraTime> | undefined {
  const seen = new Set<string>();
  const out = new Map<string, ExtraTime>();
  const sorted = [...series].sort((a, b) => (seriesKey(a) < seriesKey(b) ? -1 : seriesKey(a) > seriesKey(b) ? 1 : 0));
  for (const s of sorted) {
    if (!isAverageLatency(s.metric) || seen.has(entityKey(s))) continue;
    const volume = volumeOf(s);
    const reference = referenceOf(s).filter(Number.isFinite);
    if (!volume || reference.length === 0) continue;
    seen.add(entityKey(s));
    const unit = /(^|_)(ms|milliseconds)$/.test(s.metric.toLowerCase()) ? 1e-3 : 1;
    const usual = median(reference);
    let requests = 0;
    let seconds = 0;
    for (const [t, v] of s.points) {
      const n = volume.at(t);
      if (t < incidentStart || !Number.isFinite(v) || n === undefined || !Number.isFinite(n)) continue;
      requests += n;
      seconds += n * (v - usual) * unit;
    }
    const cur = out.get(s.service) ?? { requests: 0, seconds: 0 };
    out.set(s.service, { requests: cur.requests + requests, seconds: cur.seconds + seconds });
  }
  if (out.size === 0) return undefined;
  return Object.fromEntries([...out].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
}

/**
 * Capacity of a utilization metric (cpu, memory): 100 for a percent metric, 1 for a
 * fraction (every baseline value within 0..1), undefined when the limit is not known
 * from the data (cores, bytes, millicores).
 */
export function utilizationCapacity(metric: string, baseline: readonly number[]): number | undefined {
  const kind = classifyMetric(metric);
  if (kind !== 'cpu' && kind !== 'memory') return undefined;
  if (isPercentMetric(metric)) return 100;
  if (/bytes|_mib|_mb|_gb|_kb|millicores|cores|seconds/.test(metric)) return undefined;
  return baseline.length > 0 && baseline.every((v) => v >= 0 && v <= 1) ? 1 : undefined;
}

/** Share of its limit a saturated resource reaches at least. @default 0.8 */
export const SATURATION_LEVEL = 0.8;

/**
 * Whether a utilization rose into saturation: it reached SATURATION_LEVEL of its limit
 * and used up at least half of the headroom it had (so a resource that always runs
 * hot is not "saturated by the incident").
 */
export function isSaturation(metric: string, baseline: readonly number[], r: WindowScore): boolean {
  const cap = utilizationCapacity(metric, baseline);
  if (cap === undefined || r.direction !== 'up') return false;
  return r.level >= SATURATION_LEVEL * cap && r.level - r.center >= 0.5 * (cap - r.center);
}

/** Id suffix of a metric finding that shows its resource saturated (see isSaturation). */
export const SATURATION_SUFFIX = ':saturation';

function describe(s: MetricSeries, r: WindowScore, againstSeparateBaseline: boolean): string {
  const who = s.instance ? `${s.service}/${s.instance}` : s.service;
  const unit = isPercentMetric(s.metric) ? '%' : '';
  const verb = r.direction === 'up' ? 'rose' : 'fell';
  const base = againstSeparateBaseline ? 'median of the fault-free baseline' : 'median before';
  const from = r.onset !== null ? ` from ${clockTime(r.onset)}` : '';
  return `${who} ${s.metric} ${verb} from ${formatNumber(r.center)}${unit} (${base}) to ${formatNumber(r.level)}${unit}${from} (robust z ${formatNumber(r.score)})`;
}

function toFinding(s: MetricSeries, r: WindowScore, separate: boolean, baseline: readonly number[]): Finding {
  const saturated = isSaturation(s.metric, baseline, r);
  const cap = utilizationCapacity(s.metric, baseline) ?? 1;
  return {
    id: `metrics:${s.service}:${s.instance}:${s.metric}${saturated ? SATURATION_SUFFIX : ''}`,
    source: 'metrics',
    service: s.service,
    ...(s.instance ? { instance: s.instance } : {}),
    indicator: s.metric,
    score: r.score,
    onset: r.onset,
    summary: `${describe(s, r, separate)}${saturated ? `; saturated at ${Math.round((100 * r.level) / cap)}% of its limit` : ''}`,
    direction: r.direction,
    baseline: r.center,
    level: r.level,
  };
}

/**
 * The findings kept when there are more than `max` (sorted strongest first): first the
 * strongest of each service and kind of metric (latency, errors, cpu, ...), then the
 * rest by score, so many strong series of one kind (every latency percentile of forty
 * nodes) cannot crowd out the only error-rate finding of another service.
 */
export function keepStrongest(sorted: readonly Finding[], max: number): Finding[] {
  if (sorted.length <= max) return [...sorted];
  const first: Finding[] = [];
  const rest: Finding[] = [];
  const seen = new Set<string>();
  for (const f of sorted) {
    const key = `${f.service}\u0000${classifyMetric(f.indicator)}`;
    if (seen.has(key)) rest.push(f);
    else {
      seen.add(key);
      first.push(f);
    }
  }
  const kept = new Set([...first, ...rest].slice(0, max));
  return sorted.filter((f) => kept.has(f));
}

function finish(
  findings: Finding[],
  counts: { series: number; scored: number; skipped: number },
  maxFindings: number,
): SourceEvidence {
  findings.sort(byScoreThenKey((f) => f.score, (f) => f.id));
  return {
    source: 'metrics',
    status: counts.scored === 0 ? 'empty' : 'ok',
    findings: keepStrongest(findings, maxFindings),
    stats: {
      series: counts.series,
      scored: counts.scored,
      skipped: counts.skipped,
      anomalous: findings.length,
    },
  };
}

/**
 * Anomalies of each series in the incident window against its own past. When the past
 * is the only reference there is, a single sample of it still is one: every series
 * then has the same short history, and its change is judged relative to its level
 * (the floor of robustBaseline: 1% of it), which keeps series comparable, where no
 * reference at all would leave the incident without evidence (coarse data, 5-minute
 * periods, an incident early in the recording).
 */
export function analyzeMetrics(input: AnalyzeMetricsInput): SourceEvidence {
  const { series, incidentStart } = input;
  const baselineEnd = input.baselineEnd ?? incidentStart;
  const minScore = input.minScore ?? BAND_Z;
  const findings: Finding[] = [];
  const counts = { series: series.length, scored: 0, skipped: 0 };
  const pastOf = (c: MetricSeries, end: number): number[] => c.points.filter(([t, v]) => t < end && Number.isFinite(v)).map(([, v]) => v);
  const referenceOf = (c: MetricSeries): number[] => pastOf(c, referenceEnd(c.points, baselineEnd));
  const volumeOf = requestVolumes(series, referenceOf);
  for (const s of series) {
    const baseline = referenceOf(s);
    const window = s.points.filter(([t, v]) => t >= incidentStart && Number.isFinite(v));
    const r = scoreWindow(baseline, window, s.metric, volumeOf(s), 1);
    if (!r) {
      counts.skipped++;
      continue;
    }
    counts.scored++;
    if (r.score >= minScore) findings.push(toFinding(s, r, false, baseline));
  }
  const extraTime = extraTimes(series, incidentStart, referenceOf, volumeOf);
  return { ...finish(findings, counts, input.maxFindings ?? 50), ...(extraTime ? { extraTime } : {}) };
}

/**
 * Whether a series' change against the fault-free baseline was already there before
 * the incident: at least two samples before incidentStart that, scored together as a
 * window, lie outside the baseline band (BAND_Z) in the same direction as the incident
 * window's change, each of them at least one scale unit off in that direction. A
 * condition that held before the fault began (a node already failing every request)
 * is no effect of it; only what changed since counts.
 */
export function alreadyThere(
  baseline: readonly number[],
  s: MetricSeries,
  incidentStart: number,
  during: WindowScore,
  volume?: WindowVolume,
): boolean {
  const past = s.points.filter(([t, v]) => t < incidentStart && Number.isFinite(v));
  if (past.length < 2) return false;
  const whole = scoreWindow(baseline, past, s.metric, volume);
  if (!whole || whole.direction !== during.direction || whole.score < BAND_Z) return false;
  return past.every((p) => {
    const r = scoreWindow(baseline, [p], s.metric, volume);
    return r !== null && r.direction === during.direction && r.score >= 1;
  });
}

/**
 * Anomalies against a separate fault-free period: each series' incident window is
 * scored against the baseline series with the same service/instance/metric. When
 * the recent past (points before incidentStart) is also available, the score is the
 * smaller of the two, so a level that differs from the fault-free period for other
 * reasons (a different recording day) but was already there before the incident is
 * not reported. Series with no baseline counterpart fall back to their own past.
 */
export function analyzeMetricsWithBaseline(input: AnalyzeMetricsWithBaselineInput): SourceEvidence {
  const { series, baselineSeries, incidentStart } = input;
  const minScore = input.minScore ?? BAND_Z;
  const base = new Map<string, number[]>();
  for (const b of baselineSeries) {
    const k = seriesKey(b);
    const arr = base.get(k) ?? [];
    for (const [, v] of b.points) if (Number.isFinite(v)) arr.push(v);
    base.set(k, arr);
  }
  const findings: Finding[] = [];
  const counts = { series: series.length, scored: 0, skipped: 0 };
  const volumeVsBase = requestVolumes(series, (c) => base.get(seriesKey(c)) ?? []);
  const pastOf = (c: MetricSeries): number[] => c.points.filter(([t, v]) => t < incidentStart && Number.isFinite(v)).map(([, v]) => v);
  const volumeVsPast = requestVolumes(series, pastOf);
  for (const s of series) {
    const window = s.points.filter(([t, v]) => t >= incidentStart && Number.isFinite(v));
    const past = pastOf(s);
    const separate = base.get(seriesKey(s)) ?? [];
    const rb = scoreWindow(separate, window, s.metric, volumeVsBase(s));
    const rp = scoreWindow(past, window, s.metric, volumeVsPast(s));
    let r: WindowScore | null = rb;
    // The recent past vetoes when it is at least as long as the window it judges, or
    // when it already showed the change throughout (alreadyThere).
    if (rb && rp && (past.length >= window.length || alreadyThere(separate, s, incidentStart, rb, volumeVsBase(s))))
      r = rp.score < rb.score ? rp : rb;
    else if (!rb) r = rp;
    if (!r) {
      counts.skipped++;
      continue;
    }
    counts.scored++;
    if (r.score >= minScore && !usualForReference(separate, window, r)) findings.push(toFinding(s, r, r === rb, r === rb ? separate : past));
  }
  // The usual average is the fault-free period's where it has the series, else the recent past's.
  const referenceOf = (c: MetricSeries): number[] => {
    const separate = base.get(seriesKey(c)) ?? [];
    return separate.length > 0 ? separate : pastOf(c);
  };
  const extraTime = extraTimes(series, incidentStart, referenceOf, volumeVsBase);
  return { ...finish(findings, counts, input.maxFindings ?? 50), ...(extraTime ? { extraTime } : {}) };
}
