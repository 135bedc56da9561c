/**
 * A tiny Prometheus text-format (0.0.4) registry: counters and histograms with
 * labels, no dependencies. Generic on purpose so other processes (the worker) can
 * reuse it; ingest's own metrics are defined in ingest-metrics.ts.
 */

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Default histogram buckets (seconds), as the Prometheus client libraries use. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type LabelValues<L extends string> = { readonly [K in L]?: string | number };

export interface MetricOptions<L extends string> {
  name: string;
  help: string;
  /** @default [] */
  labelNames?: readonly L[];
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, ascending; +Inf is implicit. @default DEFAULT_BUCKETS */
  buckets?: readonly number[];
}

export interface Counter<L extends string = never> {
  /** Adds `by` (default 1, never negative) to the series of these labels. */
  inc(labels?: LabelValues<L>, by?: number): void;
  /** Current value of one series (for tests). */
  get(labels?: LabelValues<L>): number;
}

export interface Histogram<L extends string = never> {
  observe(labels: LabelValues<L> | undefined, value: number): void;
  /** Starts a timer; calling the result observes the elapsed seconds and returns them. */
  startTimer(labels?: LabelValues<L>): () => number;
}

interface Metric {
  render(): string[];
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

function labelPairs(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((n, i) => `${n}="${escapeLabelValue(values[i] ?? '')}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabelValue(extra[1])}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`];
}

/** Holds metrics and renders them in the Prometheus text format. */
export class Registry {
  private readonly metrics = new Map<string, Metric>();
  readonly contentType = PROMETHEUS_CONTENT_TYPE;

  counter<L extends string = never>(opts: MetricOptions<L>): Counter<L> {
    const labelNames = this.check(opts, []);
    const series = new Map<string, { values: string[]; value: number }>();
    const seriesOf = (labels: LabelValues<L> | undefined) => {
      const values = labelNames.map((n) => String((labels as Partial<Record<string, string | number>> | undefined)?.[n] ?? ''));
      const key = JSON.stringify(values);
      let s = series.get(key);
      if (!s) {
        s = { values, value: 0 };
        series.set(key, s);
      }
      return s;
    };
    this.metrics.set(opts.name, {
      render: () => {
        const lines = header(opts.name, opts.help, 'counter');
        if (labelNames.length === 0 && series.size === 0) lines.push(`${opts.name} 0`);
        for (const s of series.values()) lines.push(`${opts.name}${labelPairs(labelNames, s.values)} ${formatNumber(s.value)}`);
        return lines;
      },
    });
    return {
      inc(labels, by = 1) {
        if (!(by >= 0)) throw new RangeError(`counter ${opts.name}: cannot add ${by}`);
        seriesOf(labels).value += by;
      },
      get(labels) {
        return seriesOf(labels).value;
      },
    };
  }

  histogram<L extends string = never>(opts: HistogramOptions<L>): Histogram<L> {
    const labelNames = this.check(opts, ['le']);
    const buckets = [...(opts.buckets ?? DEFAULT_BUCKETS)];
    if (buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] ?? -Infinity)))) {
      throw new RangeError(`histogram ${opts.name}: buckets must be finite and strictly increasing`);
    }
    const series = new Map<string, { values: string[]; counts: number[]; sum: number; count: number }>();
    const observe = (labels: LabelValues<L> | undefined, value: number) => {
      const values = labelNames.map((n) => String((labels as Partial<Record<string, string | number>> | undefined)?.[n] ?? ''));
      const key = JSON.stringify(values);
      let s = series.get(key);
      if (!s) {
        s = { values, counts: buckets.map(() => 0), sum: 0, count: 0 };
        series.set(key, s);
      }
      for (let i = 0; i < buckets.length; i++) {
        if (value <= (buckets[i] ?? Infinity)) s.counts[i] = (s.counts[i] ?? 0) + 1;
      }
      s.sum += value;
      s.count += 1;
    };
    this.metrics.set(opts.name, {
      render: () => {
        const lines = header(opts.name, opts.help, 'histogram');
        for (const s of series.values()) {
          buckets.forEach((b, i) => {
            lines.push(`${opts.name}_bucket${labelPairs(labelNames, s.values, ['le', formatNumber(b)])} ${s.counts[i] ?? 0}`);
          });
          lines.push(`${opts.name}_bucket${labelPairs(labelNames, s.values, ['le', '+Inf'])} ${s.count}`);
          lines.push(`${opts.name}_sum${labelPairs(labelNames, s.values)} ${formatNumber(s.sum)}`);
          lines.push(`${opts.name}_count${labelPairs(labelNames, s.values)} ${s.count}`);
        }
        return lines;
      },
    });
    return {
      observe,
      startTimer(labels) {
        const start = process.hrtime.bigint();
        return () => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          observe(labels, seconds);
          return seconds;
        };
      },
    };
  }

  /** All metrics, in registration order, as Prometheus text. */
  render(): string {
    const lines: string[] = [];
    for (const m of this.metrics.values()) lines.push(...m.render());
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  }

  private check(opts: MetricOptions<string>, reserved: string[]): readonly string[] {
    if (!METRIC_NAME.test(opts.name)) throw new Error(`invalid metric name: ${opts.name}`);
    if (this.metrics.has(opts.name)) throw new Error(`metric already registered: ${opts.name}`);
    const labelNames = opts.labelNames ?? [];
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith('__') || reserved.includes(l)) throw new Error(`invalid label name for ${opts.name}: ${l}`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new Error(`duplicate label name for ${opts.name}`);
    return labelNames;
  }
}
