/**
 * Gauges in the Prometheus text format, read at scrape time from a callback. The shared
 * Registry (src/ingest/metrics.ts) has counters and histograms only; the worker's
 * drift SLIs are gauges, rendered after it. (Folding `gauge()` into Registry would be
 * the tidier home; kept here so that module stays its owner's.)
 */

export interface GaugeOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** The current series; called on every scrape. */
  collect: () => { labels: { readonly [K in L]: string }; value: number }[];
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const formatNumber = (n: number) => (Number.isNaN(n) ? 'NaN' : n === Infinity ? '+Inf' : n === -Infinity ? '-Inf' : String(n));

export class GaugeSet {
  private readonly gauges: GaugeOptions<string>[] = [];

  gauge<L extends string>(opts: GaugeOptions<L>): void {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(opts.name)) throw new Error(`invalid metric name: ${opts.name}`);
    if (this.gauges.some((g) => g.name === opts.name)) throw new Error(`metric already registered: ${opts.name}`);
    this.gauges.push(opts as unknown as GaugeOptions<string>);
  }

  render(): string {
    const lines: string[] = [];
    for (const g of this.gauges) {
      lines.push(`# HELP ${g.name} ${g.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${g.name} gauge`);
      for (const s of g.collect()) {
        const pairs = g.labelNames.map((n) => `${n}="${escapeLabel(s.labels[n] ?? '')}"`);
        lines.push(`${g.name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatNumber(s.value)}`);
      }
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  }
}
