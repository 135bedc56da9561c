/**
 * Synthetic metric history in OpenMetrics text, for backfilling a real Prometheus with
 * promtool: a few services with two instances each, scraped every `intervalSeconds`,
 * instrumented the usual way (http_requests_total{code}, the histogram
 * http_request_duration_seconds, process_cpu_seconds_total,
 * process_resident_memory_bytes). Normal services carry seeded noise; the faulty one's
 * 5xx ratio and latency jump at `fault.at`. Deterministic for a given seed.
 */

export interface HistoryOptions {
  services: string[];
  /** Epoch seconds of the first and last sample. */
  start: number;
  end: number;
  /** @default 15 */
  intervalSeconds?: number;
  fault: { service: string; at: number; errorRatio: number; latencyFactor: number };
  /** @default 1 */
  seed?: number;
}

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const s = Math.sign(x);
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return s * y;
}

/** P(latency <= x) for a log-normal latency with this median and sigma. */
function lognormalCdf(x: number, median: number, sigma: number): number {
  return 0.5 * (1 + erf(Math.log(x / median) / (sigma * Math.SQRT2)));
}

function labels(l: Record<string, string>): string {
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`;
}

interface InstanceState {
  job: string;
  instance: string;
  ok: number;
  errors: number;
  buckets: number[];
  count: number;
  sum: number;
  cpu: number;
}

/** The OpenMetrics text (ending in `# EOF`) for the given services and window. */
export function generateHistory(opts: HistoryOptions): string {
  const step = opts.intervalSeconds ?? 15;
  const rnd = mulberry32(opts.seed ?? 1);
  const noise = (spread: number) => 1 + (rnd() * 2 - 1) * spread;
  const times: number[] = [];
  for (let t = opts.start; t <= opts.end; t += step) times.push(t);
  const instances: InstanceState[] = opts.services.flatMap((job) =>
    [0, 1].map((i) => ({ job, instance: `${job}-${i}`, ok: 0, errors: 0, buckets: LATENCY_BUCKETS.map(() => 0), count: 0, sum: 0, cpu: 0 })),
  );
  // rows[family][instance] = lines in time order
  const requests: string[][] = instances.map(() => []);
  const histogram: string[][] = instances.map(() => []);
  const cpu: string[][] = instances.map(() => []);
  const memory: string[][] = instances.map(() => []);
  for (const t of times) {
    instances.forEach((s, i) => {
      const faulty = s.job === opts.fault.service && t >= opts.fault.at;
      const n = Math.round(20 * step * noise(0.1));
      const errorRatio = faulty ? opts.fault.errorRatio * noise(0.1) : 0.005 * noise(0.5);
      const errors = Math.round(n * errorRatio);
      s.errors += errors;
      s.ok += n - errors;
      const median = 0.04 * noise(0.1) * (faulty ? opts.fault.latencyFactor : 1);
      LATENCY_BUCKETS.forEach((le, b) => {
        s.buckets[b] = (s.buckets[b] ?? 0) + Math.round(n * lognormalCdf(le, median, 0.4));
      });
      s.count += n;
      s.sum += n * median * Math.exp(0.08);
      s.cpu += step * 0.2 * noise(0.1);
      const base = { job: s.job, instance: s.instance };
      requests[i]?.push(`http_requests_total${labels({ ...base, code: '200' })} ${s.ok} ${t}`, `http_requests_total${labels({ ...base, code: '500' })} ${s.errors} ${t}`);
      const h = histogram[i];
      LATENCY_BUCKETS.forEach((le, b) => h?.push(`http_request_duration_seconds_bucket${labels({ ...base, le: String(le) })} ${s.buckets[b] ?? 0} ${t}`));
      h?.push(`http_request_duration_seconds_bucket${labels({ ...base, le: '+Inf' })} ${s.count} ${t}`);
      h?.push(`http_request_duration_seconds_count${labels(base)} ${s.count} ${t}`);
      h?.push(`http_request_duration_seconds_sum${labels(base)} ${s.sum.toFixed(3)} ${t}`);
      cpu[i]?.push(`process_cpu_seconds_total${labels(base)} ${s.cpu.toFixed(3)} ${t}`);
      memory[i]?.push(`process_resident_memory_bytes${labels(base)} ${Math.round(2e8 * noise(0.02))} ${t}`);
    });
  }
  // Counters: one series after the other, each in time order.
  const byCode = (rows: string[], code: string) => rows.filter((r) => r.includes(`code="${code}"`));
  return [
    '# TYPE http_requests counter',
    ...requests.flatMap((rows) => [...byCode(rows, '200'), ...byCode(rows, '500')]),
    '# TYPE http_request_duration_seconds histogram',
    ...histogram.flat(),
    '# TYPE process_cpu_seconds counter',
    ...cpu.flat(),
    '# TYPE process_resident_memory_bytes gauge',
    ...memory.flat(),
    '# EOF',
    '',
  ].join('\n');
}
