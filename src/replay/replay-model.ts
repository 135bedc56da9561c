/**
 * A recorded incident served as if live: the queries of the capability tools
 * (metrics_query_range, logs_search, traces_search, topology_get) answered from one
 * case bundle, with the same input and output shapes as the built-in simulator.
 *
 * Baseline (the bundle's baseline/, a fault-free period) is served through the same
 * tools. Datasets record it at another time than the case (nezha-ob: hours later the
 * same day, or the next day for traces; petshop: months later), so by default it is
 * placed **before the window**: each kind (metrics, logs, traces) is shifted by one
 * constant so that its last sample lies one sample interval (1 s for logs and traces)
 * before the case window starts, much as the datasets themselves join sockshop's
 * normal and fault periods. Inside the window there is only the case's own data.
 * A query whose start reaches back before the case window then returns the
 * baseline points, and the incident workflow's "baseline = points before the alert"
 * analyses use them unchanged. `as-recorded` keeps the recorded timestamps (baseline
 * samples that fall inside the case window are dropped: the case wins) and `off`
 * serves the case alone. `baselineInfo()` says where each kind was placed.
 *
 * Metrics are returned at their recorded resolution: a `step` at or below it returns
 * the recorded samples (nothing is interpolated); a coarser step averages the samples
 * of each interval [start + k·step, start + (k+1)·step) into one point at its start.
 */
import { z } from 'zod';
import {
  LogsSearchInput,
  MetricsQueryRangeInput,
  TopologyGetInput,
  TracesSearchInput,
  type LogsSearchOutput,
  type MetricsQueryRangeOutput,
  type TracesSearchOutput,
} from '../schemas/capabilities.js';
import type { LogRecord, MetricSeries, Span, Topology } from '../schemas/telemetry.js';
import { LEVELS, levelValue } from '../simulator/logs.js';
import { MetricsBaselineInput, TracesBaselineInput, type MetricsBaselineOutput, type TracesBaselineOutput } from './baseline-tools.js';
import { CaseBundle, type CaseAlert, type TelemetryKind } from './case-bundle.js';
import { InvalidReplayQueryError, NotRecordedError } from './errors.js';
import { topologyFromSpans } from './parse-telemetry.js';

export const BaselinePlacement = z.enum(['before-window', 'as-recorded', 'off']);
export type BaselinePlacement = z.infer<typeof BaselinePlacement>;

export interface ReplayModelOptions {
  /** Where the bundle's baseline/ telemetry is served on the time axis. @default 'before-window' */
  baseline?: BaselinePlacement;
}

/** Where one kind of baseline telemetry was recorded and where it is served. */
export interface BaselineInfo {
  kind: TelemetryKind;
  /** Recorded time range (epoch seconds). */
  recorded: { start: number; end: number };
  /** Served time range, null when not served (placement `off`, or every sample overlapped the case). */
  served: { start: number; end: number } | null;
  /** Added to every recorded timestamp (0 for `as-recorded`). */
  shiftSeconds: number;
  /** Samples (points, records or spans) served. */
  count: number;
}

interface IndexedTrace {
  start: number;
  spans: Span[];
  services: Set<string>;
}

interface Placement {
  shift: number;
  keep: (t: number) => boolean;
}

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const r = schema.safeParse(input);
  if (!r.success) throw new InvalidReplayQueryError(z.prettifyError(r.error).replace(/\n/g, ' '));
  return r.data;
}

function checkWindow(start: number, end: number): void {
  if (start > end) throw new InvalidReplayQueryError(`start (${start}) is after end (${end})`);
}

/** First index with `key(xs[i]) >= t` in an array sorted by key. */
function lowerBound<T>(xs: readonly T[], t: number, key: (x: T) => number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(xs[mid] as T) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? null;
}

/** Median spacing between consecutive samples of the series (null with no spacing). */
export function metricResolution(series: readonly MetricSeries[]): number | null {
  const diffs: number[] = [];
  for (const s of series) {
    for (let i = 1; i < s.points.length && diffs.length < 50_000; i++) {
      const d = (s.points[i]?.[0] ?? 0) - (s.points[i - 1]?.[0] ?? 0);
      if (d > 0) diffs.push(d);
    }
  }
  return median(diffs);
}

function timeRange(times: Iterable<number>): { start: number; end: number } | null {
  let start = Infinity;
  let end = -Infinity;
  for (const t of times) {
    if (t < start) start = t;
    if (t > end) end = t;
  }
  return start <= end ? { start, end } : null;
}

function* metricTimes(series: readonly MetricSeries[]): Iterable<number> {
  for (const s of series) for (const [t] of s.points) yield t;
}

/** Averages samples into step-wide intervals aligned to `start`. */
function downsample(points: readonly [number, number][], start: number, step: number): [number, number][] {
  const out: [number, number][] = [];
  let bucket = NaN;
  let sum = 0;
  let n = 0;
  for (const [t, v] of points) {
    const k = Math.floor((t - start) / step);
    if (k !== bucket) {
      if (n > 0) out.push([start + bucket * step, sum / n]);
      bucket = k;
      sum = 0;
      n = 0;
    }
    sum += v;
    n++;
  }
  if (n > 0) out.push([start + bucket * step, sum / n]);
  return out;
}

/** Series of `series` with points in [start, end], filtered, at `step` (raw at or below `resolution`). */
function selectSeries(series: readonly MetricSeries[], q: { start: number; end: number; step: number; service?: string | undefined; metric?: string | undefined }, resolution: number | null): MetricSeries[] {
  const coarse = resolution !== null && q.step > resolution;
  const out: MetricSeries[] = [];
  for (const s of series) {
    if (q.service !== undefined && s.service !== q.service) continue;
    if (q.metric !== undefined && s.metric !== q.metric) continue;
    const from = lowerBound(s.points, q.start, (p) => p[0]);
    const to = lowerBound(s.points, q.end + 1e-9, (p) => p[0]);
    if (to <= from) continue;
    const points = s.points.slice(from, to);
    out.push({ service: s.service, instance: s.instance, metric: s.metric, points: coarse ? downsample(points, q.start, q.step) : points });
  }
  return out;
}

/** Spans grouped by trace, each trace's spans by start, traces by their first span. */
function indexTraces(spans: readonly Span[]): IndexedTrace[] {
  const byTrace = new Map<string, IndexedTrace>();
  for (const s of spans) {
    let t = byTrace.get(s.trace_id);
    if (!t) byTrace.set(s.trace_id, (t = { start: s.start, spans: [], services: new Set() }));
    t.spans.push(s);
    t.services.add(s.service);
    if (s.start < t.start) t.start = s.start;
  }
  const traces = [...byTrace.values()].sort((a, b) => a.start - b.start);
  for (const t of traces) t.spans.sort((a, b) => a.start - b.start);
  return traces;
}

/** Whole traces whose first span starts in [start, end], newest first up to `limit` spans, returned oldest first. */
function selectTraces(traces: readonly IndexedTrace[], q: { start: number; end: number; limit: number; service?: string | undefined }): TracesSearchOutput {
  const from = lowerBound(traces, q.start, (t) => t.start);
  const to = lowerBound(traces, q.end + 1e-9, (t) => t.start);
  const kept: IndexedTrace[] = [];
  let count = 0;
  let truncated = false;
  for (let i = to - 1; i >= from; i--) {
    const t = traces[i];
    if (!t || (q.service !== undefined && !t.services.has(q.service))) continue;
    if (count + t.spans.length > q.limit) {
      truncated = true;
      break;
    }
    kept.push(t);
    count += t.spans.length;
  }
  kept.reverse();
  return { spans: kept.flatMap((t) => t.spans), truncated };
}

export class ReplayModel {
  readonly placement: BaselinePlacement;
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(
    readonly bundle: CaseBundle,
    options: ReplayModelOptions = {},
  ) {
    this.placement = options.baseline ?? 'before-window';
  }

  /** Opens the case bundle in `dir` (validating case.json); data is parsed on first use. */
  static async open(dir: string, options: ReplayModelOptions = {}): Promise<ReplayModel> {
    return new ReplayModel(await CaseBundle.open(dir), options);
  }

  get caseId(): string {
    return this.bundle.id;
  }

  get alert(): CaseAlert {
    return this.bundle.meta.alert;
  }

  /** Alert start, epoch seconds. */
  get startsAt(): number {
    return this.bundle.startsAt;
  }

  /** The case window, epoch seconds. */
  get window(): { start: number; end: number } {
    return this.bundle.window;
  }

  /** Every file opened so far (never truth.json). */
  get filesRead(): readonly string[] {
    return this.bundle.filesRead;
  }

  /** Parses every data file now (instead of on first query); throws the first data error. */
  async load(): Promise<void> {
    await Promise.all([this.metricsIndex(), this.logsIndex(), this.tracesIndex(), this.topologyOrNull()]);
  }

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.cache.set(key, p);
    }
    return p;
  }

  /**
   * How baseline samples of one kind are placed: before the case's first sample
   * (`gap` seconds earlier than it), as recorded (minus overlaps), or not at all.
   */
  private place(kind: TelemetryKind, recorded: { start: number; end: number } | null, caseFirst: number | null, gap: number): Placement & { info: Omit<BaselineInfo, 'count' | 'served'> | null } {
    if (!recorded || this.placement === 'off') {
      return { shift: 0, keep: () => false, info: recorded ? { kind, recorded, shiftSeconds: 0 } : null };
    }
    const w = this.window;
    if (this.placement === 'as-recorded') {
      return { shift: 0, keep: (t) => t < w.start || t > w.end, info: { kind, recorded, shiftSeconds: 0 } };
    }
    const anchor = Math.min(caseFirst ?? w.start, w.start);
    const shift = Math.floor(anchor - gap - recorded.end);
    return { shift, keep: () => true, info: { kind, recorded, shiftSeconds: shift } };
  }

  private metricsIndex(): Promise<{ series: MetricSeries[]; resolution: number | null; baseline: BaselineInfo | null }> {
    return this.once('metrics', async () => {
      const [own, base] = await Promise.all([this.bundle.metrics(), this.bundle.baselineMetrics()]);
      const resolution = metricResolution(own);
      const p = this.place('metrics', timeRange(metricTimes(base)), timeRange(metricTimes(own))?.start ?? null, metricResolution(base) ?? resolution ?? 1);
      const byKey = new Map<string, MetricSeries>();
      let count = 0;
      for (const b of base) {
        const points = b.points.filter(([t]) => p.keep(t)).map(([t, v]): [number, number] => [t + p.shift, v]);
        if (points.length === 0) continue;
        count += points.length;
        byKey.set(`${b.service}\u0000${b.instance}\u0000${b.metric}`, { ...b, points });
      }
      const served = count > 0 ? timeRange(metricTimes([...byKey.values()])) : null;
      for (const s of own) {
        const key = `${s.service}\u0000${s.instance}\u0000${s.metric}`;
        const prior = byKey.get(key);
        if (prior) byKey.set(key, { ...s, points: [...prior.points, ...s.points].sort((a, b) => a[0] - b[0]) });
        else byKey.set(key, s);
      }
      const series = [...byKey.values()].sort((a, b) =>
        a.service < b.service ? -1 : a.service > b.service ? 1 : a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0,
      );
      return { series, resolution, baseline: p.info ? { ...p.info, served, count } : null };
    });
  }

  private logsIndex(): Promise<{ logs: LogRecord[]; baseline: BaselineInfo | null }> {
    return this.once('logs', async () => {
      const [own, base] = await Promise.all([this.bundle.logs(), this.bundle.baselineLogs()]);
      const p = this.place('logs', timeRange(base.map((l) => l.timestamp)), own[0]?.timestamp ?? null, 1);
      const placed = base.filter((l) => p.keep(l.timestamp)).map((l) => ({ ...l, timestamp: l.timestamp + p.shift }));
      const logs = [...placed, ...own].sort((a, b) => a.timestamp - b.timestamp);
      const served = timeRange(placed.map((l) => l.timestamp));
      return { logs, baseline: p.info ? { ...p.info, served, count: placed.length } : null };
    });
  }

  private tracesIndex(): Promise<{ traces: IndexedTrace[]; spans: Span[]; baseline: BaselineInfo | null }> {
    return this.once('traces', async () => {
      const [own, base] = await Promise.all([this.bundle.spans(), this.bundle.baselineSpans()]);
      const p = this.place('traces', timeRange(base.map((s) => s.start)), timeRange(own.map((s) => s.start))?.start ?? null, 1);
      // A baseline trace is kept or dropped whole, by its first span.
      const baseStart = new Map<string, number>();
      for (const s of base) baseStart.set(s.trace_id, Math.min(baseStart.get(s.trace_id) ?? Infinity, s.start));
      const placed = base.filter((s) => p.keep(baseStart.get(s.trace_id) ?? s.start)).map((s) => ({ ...s, start: s.start + p.shift }));
      const spans = [...placed, ...own];
      const traces = indexTraces(spans);
      const served = timeRange(placed.map((s) => s.start));
      return { traces, spans, baseline: p.info ? { ...p.info, served, count: placed.length } : null };
    });
  }

  private topologyOrNull(): Promise<Topology | null> {
    return this.once('topology', async () => {
      const recorded = await this.bundle.topology();
      if (recorded) return recorded;
      const { spans } = await this.tracesIndex();
      return spans.length > 0 ? topologyFromSpans(spans) : null;
    });
  }

  /** Where the baseline of each kind was recorded and where it is served (kinds without baseline are left out). */
  async baselineInfo(): Promise<BaselineInfo[]> {
    const [m, l, t] = await Promise.all([this.metricsIndex(), this.logsIndex(), this.tracesIndex()]);
    return [m.baseline, l.baseline, t.baseline].filter((b): b is BaselineInfo => b !== null);
  }

  /** The time range the tools serve data in: the case window plus the baseline as placed. */
  async coverage(): Promise<{ start: number; end: number }> {
    let { start, end } = this.window;
    for (const b of await this.baselineInfo()) {
      if (!b.served) continue;
      start = Math.min(start, b.served.start);
      end = Math.max(end, b.served.end);
    }
    return { start, end };
  }

  /** Median spacing of the case's metric samples, in seconds (null if there is none). */
  async metricsResolution(): Promise<number | null> {
    return (await this.metricsIndex()).resolution;
  }

  async queryMetrics(input: z.input<typeof MetricsQueryRangeInput>): Promise<MetricsQueryRangeOutput> {
    const q = parse(MetricsQueryRangeInput, input);
    checkWindow(q.start, q.end);
    const { series, resolution } = await this.metricsIndex();
    return { series: selectSeries(series, q, resolution) };
  }

  async searchLogs(input: z.input<typeof LogsSearchInput>): Promise<LogsSearchOutput> {
    const q = parse(LogsSearchInput, input);
    checkWindow(q.start, q.end);
    const minLevel = q.level === undefined ? undefined : levelValue(q.level);
    if (q.level !== undefined && minLevel === undefined) {
      throw new InvalidReplayQueryError(`unknown level "${q.level}": use one of ${Object.keys(LEVELS).join(', ')}`);
    }
    const needle = q.contains?.toLowerCase();
    const { logs } = await this.logsIndex();
    const from = lowerBound(logs, q.start, (l) => l.timestamp);
    const to = lowerBound(logs, q.end + 1e-9, (l) => l.timestamp);
    const hits: LogRecord[] = [];
    for (let i = from; i < to; i++) {
      const rec = logs[i];
      if (!rec) continue;
      if (q.service !== undefined && rec.service !== q.service) continue;
      if (minLevel !== undefined && (levelValue(rec.level ?? 'info') ?? 0) < minLevel) continue;
      if (needle && !rec.message.toLowerCase().includes(needle)) continue;
      hits.push(rec);
    }
    const truncated = hits.length > q.limit;
    return { logs: truncated ? hits.slice(hits.length - q.limit) : hits, truncated };
  }

  /** Whole traces whose first span starts in [start, end], newest first up to `limit` spans, returned oldest first. */
  async searchTraces(input: z.input<typeof TracesSearchInput>): Promise<TracesSearchOutput> {
    const q = parse(TracesSearchInput, input);
    checkWindow(q.start, q.end);
    return selectTraces((await this.tracesIndex()).traces, q);
  }

  /**
   * The baseline metrics as recorded (whatever the placement): the whole fault-free
   * period, filtered like a range query; `period` is null when the case has none.
   */
  async baselineMetrics(input: z.input<typeof MetricsBaselineInput> = {}): Promise<MetricsBaselineOutput> {
    const q = parse(MetricsBaselineInput, input);
    const base = await this.once('baseline-metrics-recorded', async () => {
      const series = await this.bundle.baselineMetrics();
      return { series, resolution: metricResolution(series), period: timeRange(metricTimes(series)) };
    });
    if (!base.period) return { series: [], period: null };
    return { series: selectSeries(base.series, { ...q, ...base.period }, base.resolution), period: base.period };
  }

  /** The baseline traces as recorded: whole traces of the fault-free period, newest first up to `limit` spans. */
  async baselineTraces(input: z.input<typeof TracesBaselineInput> = {}): Promise<TracesBaselineOutput> {
    const q = parse(TracesBaselineInput, input);
    const base = await this.once('baseline-traces-recorded', async () => {
      const spans = await this.bundle.baselineSpans();
      const traces = indexTraces(spans);
      const first = traces[0];
      const last = traces.at(-1);
      return { traces, period: first && last ? { start: first.start, end: last.start } : null };
    });
    if (!base.period) return { spans: [], truncated: false, period: null };
    return { ...selectTraces(base.traces, { ...q, ...base.period }), period: base.period };
  }

  /** topology.json, else the call graph observed in the traces; not_recorded when neither exists. */
  async topology(input: z.input<typeof TopologyGetInput> = {}): Promise<Topology> {
    const q = parse(TopologyGetInput, input);
    const topology = await this.topologyOrNull();
    if (!topology) throw new NotRecordedError(`case ${this.caseId} has no topology.json and no traces to derive a call graph from`);
    const since = q.since;
    return since === undefined ? topology : { ...topology, changes: topology.changes.filter((c) => c.at >= since) };
  }
}
