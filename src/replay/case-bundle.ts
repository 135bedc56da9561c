/**
 * One incident case bundle on disk (../shared/datasets/FORMAT.md): case.json (the
 * alert and the window) is read and validated when the bundle is opened; data files
 * (metrics, logs, traces, topology, and the same under baseline/) are located by
 * name (plain or .gz) and parsed lazily, once, on first use.
 *
 * truth.json is never opened: files are only ever opened by the exact names above,
 * and every path opened is recorded in `filesRead` so tests can prove it.
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { z } from 'zod';
import type { LogRecord, MetricSeries, Span, Topology } from '../schemas/telemetry.js';
import { InvalidCaseError, InvalidDataError } from './errors.js';
import { parseLogsJsonl, parseMetricsCsv, parseSpansJsonl, topologyFromJson } from './parse-telemetry.js';

const gunzipAsync = promisify(gunzip);

const IsoTime = z.iso.datetime({ offset: true });

/** The alert of case.json: one alert of an Alertmanager v4 webhook. */
export const CaseAlert = z.object({
  status: z.enum(['firing', 'resolved']).default('firing'),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  startsAt: IsoTime,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});
export type CaseAlert = z.infer<typeof CaseAlert>;

/** case.json. */
export const CaseMeta = z.object({
  id: z.string().min(1),
  system: z.string().optional(),
  alert: CaseAlert,
  window: z.object({ start: IsoTime, end: IsoTime }).refine((w) => Date.parse(w.start) <= Date.parse(w.end), 'window.start is after window.end'),
  /** Source files absent from the recording, as the dataset lists them ('logs', 'traces:HH_MM', ...). */
  missing: z.array(z.string()).default([]),
});
export type CaseMeta = z.infer<typeof CaseMeta>;

/** Telemetry kinds a bundle (and its baseline/) may hold. */
export type TelemetryKind = 'metrics' | 'logs' | 'traces';

const FILE_NAMES: Record<TelemetryKind | 'topology', string> = {
  metrics: 'metrics.csv',
  logs: 'logs.jsonl',
  traces: 'traces.jsonl',
  topology: 'topology.json',
};

/** Where each data file of a bundle is (absent kinds are undefined). */
export interface CaseFiles {
  metrics: string;
  logs?: string;
  traces?: string;
  topology?: string;
  baseline: Partial<Record<TelemetryKind, string>>;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** `<name>.gz` if present, else `<name>`, else undefined. Uses stat only: nothing is opened. */
async function locate(dir: string, name: string): Promise<string | undefined> {
  for (const candidate of [join(dir, `${name}.gz`), join(dir, name)]) if (await isFile(candidate)) return candidate;
  return undefined;
}

export class CaseBundle {
  /** Every file opened so far, in order (absolute paths). */
  readonly filesRead: string[] = [];
  private readonly cache = new Map<string, Promise<unknown>>();

  private constructor(
    readonly dir: string,
    readonly meta: CaseMeta,
    readonly files: CaseFiles,
  ) {}

  /**
   * Opens the bundle in `dir`: reads and validates case.json and locates the data
   * files. Throws InvalidCaseError when `dir` is not a case bundle.
   */
  static async open(dir: string): Promise<CaseBundle> {
    const abs = resolve(dir);
    let isDir = false;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch {
      throw new InvalidCaseError(abs, 'no such directory');
    }
    if (!isDir) throw new InvalidCaseError(abs, 'not a directory');
    const casePath = join(abs, 'case.json');
    if (!(await isFile(casePath))) throw new InvalidCaseError(abs, 'no case.json');
    const filesRead: string[] = [casePath];
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(casePath, 'utf8'));
    } catch (err) {
      throw new InvalidCaseError(abs, `case.json is not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const meta = CaseMeta.safeParse(raw);
    if (!meta.success) throw new InvalidCaseError(abs, `case.json: ${z.prettifyError(meta.error).replace(/\n/g, ' ')}`);
    const metrics = await locate(abs, FILE_NAMES.metrics);
    if (!metrics) throw new InvalidCaseError(abs, 'no metrics.csv or metrics.csv.gz');
    const baseDir = join(abs, 'baseline');
    const [logs, traces, topology, bMetrics, bLogs, bTraces] = await Promise.all([
      locate(abs, FILE_NAMES.logs),
      locate(abs, FILE_NAMES.traces),
      locate(abs, FILE_NAMES.topology),
      locate(baseDir, FILE_NAMES.metrics),
      locate(baseDir, FILE_NAMES.logs),
      locate(baseDir, FILE_NAMES.traces),
    ]);
    const files: CaseFiles = {
      metrics,
      ...(logs ? { logs } : {}),
      ...(traces ? { traces } : {}),
      ...(topology ? { topology } : {}),
      baseline: { ...(bMetrics ? { metrics: bMetrics } : {}), ...(bLogs ? { logs: bLogs } : {}), ...(bTraces ? { traces: bTraces } : {}) },
    };
    const bundle = new CaseBundle(abs, meta.data, files);
    bundle.filesRead.push(...filesRead);
    return bundle;
  }

  get id(): string {
    return this.meta.id;
  }

  /** Alert start, epoch seconds. */
  get startsAt(): number {
    return Date.parse(this.meta.alert.startsAt) / 1000;
  }

  /** The window the bundle's telemetry covers, epoch seconds. */
  get window(): { start: number; end: number } {
    return { start: Date.parse(this.meta.window.start) / 1000, end: Date.parse(this.meta.window.end) / 1000 };
  }

  /** The text of one data file, gunzipped when it ends in .gz. */
  private async readText(path: string): Promise<string> {
    this.filesRead.push(path);
    let buf: Buffer;
    try {
      buf = await readFile(path);
    } catch (err) {
      throw new InvalidDataError(basename(path), `cannot read: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (path.endsWith('.gz')) {
      try {
        buf = await gunzipAsync(buf);
      } catch (err) {
        throw new InvalidDataError(basename(path), `not valid gzip: ${(err as Error).message}`, undefined, { cause: err });
      }
    }
    return buf.toString('utf8');
  }

  private once<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.cache.set(key, p);
    }
    return p;
  }

  private relative(path: string): string {
    return path.startsWith(this.dir) ? path.slice(this.dir.length + 1) : path;
  }

  private parsed<T>(key: string, path: string | undefined, parse: (text: string, file: string) => T, empty: T): Promise<T> {
    if (!path) return Promise.resolve(empty);
    return this.once(key, async () => parse(await this.readText(path), this.relative(path)));
  }

  metrics(): Promise<MetricSeries[]> {
    return this.parsed('metrics', this.files.metrics, parseMetricsCsv, []);
  }

  logs(): Promise<LogRecord[]> {
    return this.parsed('logs', this.files.logs, parseLogsJsonl, []);
  }

  spans(): Promise<Span[]> {
    return this.parsed('traces', this.files.traces, parseSpansJsonl, []);
  }

  /** topology.json normalized, or null when the bundle has none. */
  topology(): Promise<Topology | null> {
    const path = this.files.topology;
    if (!path) return Promise.resolve(null);
    return this.once('topology', async () => {
      const text = await this.readText(path);
      try {
        return topologyFromJson(JSON.parse(text));
      } catch (err) {
        throw new InvalidDataError(this.relative(path), (err as Error).message.replace(/\n/g, ' '), undefined, { cause: err });
      }
    });
  }

  baselineMetrics(): Promise<MetricSeries[]> {
    return this.parsed('baseline/metrics', this.files.baseline.metrics, parseMetricsCsv, []);
  }

  baselineLogs(): Promise<LogRecord[]> {
    return this.parsed('baseline/logs', this.files.baseline.logs, parseLogsJsonl, []);
  }

  baselineSpans(): Promise<Span[]> {
    return this.parsed('baseline/traces', this.files.baseline.traces, parseSpansJsonl, []);
  }
}
