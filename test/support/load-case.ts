/**
 * Test-only loader for the case bundles in ../shared/datasets (FORMAT.md): reads
 * case.json, metrics, logs, traces and topology (and baseline/) of one case, gunzipping
 * where needed. truth.json is read only by `loadTruth`, for scoring.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { topologyFromJson } from '../../src/replay/parse-telemetry.js';
import type { LogRecord, MetricSeries, Span, Topology } from '../../src/schemas/telemetry.js';

/**
 * The development datasets: $VIGIL_DATASETS_DIR, else ../shared/datasets beside the
 * checkout, else (a clone made elsewhere, as CI's clean clone in /tmp) beside the
 * checkout it was cloned from (its local `origin`).
 */
export const DATASETS_DIR = findDatasets();

function findDatasets(): string {
  const repo = fileURLToPath(new URL('../../', import.meta.url));
  const beside = (dir: string): string => join(dirname(resolve(dir)), 'shared', 'datasets');
  const fromEnv = process.env['VIGIL_DATASETS_DIR'];
  if (fromEnv) return resolve(fromEnv);
  const own = beside(repo);
  if (existsSync(own)) return own;
  const origin = spawnSync('git', ['-C', repo, 'config', '--get', 'remote.origin.url'], { encoding: 'utf8' }).stdout?.trim();
  if (origin && !origin.includes('://') && !origin.includes('@') && existsSync(beside(origin))) return beside(origin);
  return own;
}

export interface CaseTelemetry {
  metrics: MetricSeries[];
  logs: LogRecord[];
  spans: Span[];
}

export interface LoadedCase {
  id: string;
  dataset: string;
  alert: { labels: Record<string, string>; annotations?: Record<string, string>; startsAt: string };
  incidentStart: number;
  alertedServices: string[];
  telemetry: CaseTelemetry;
  baseline: CaseTelemetry | null;
  topology: Topology | null;
}

function readMaybeGz(dir: string, name: string): string | null {
  const gz = join(dir, name + '.gz');
  if (existsSync(gz)) return gunzipSync(readFileSync(gz)).toString('utf8');
  const plain = join(dir, name);
  if (existsSync(plain)) return readFileSync(plain, 'utf8');
  return null;
}

function parseMetrics(text: string | null): MetricSeries[] {
  if (!text) return [];
  const byKey = new Map<string, MetricSeries>();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    const parts = line.split(',');
    if (parts.length < 5) continue;
    const value = Number(parts[parts.length - 1]);
    const metric = parts[parts.length - 2] ?? '';
    const instance = parts[parts.length - 3] ?? '';
    const service = parts.slice(1, parts.length - 3).join(',');
    const t = Number(parts[0]);
    if (!Number.isFinite(t) || !Number.isFinite(value) || parts[parts.length - 1] === '') continue;
    const key = `${service}\u0000${instance}\u0000${metric}`;
    let s = byKey.get(key);
    if (!s) {
      s = { service, instance, metric, points: [] };
      byKey.set(key, s);
    }
    s.points.push([t, value]);
  }
  const out = [...byKey.values()];
  for (const s of out) s.points.sort((a, b) => a[0] - b[0]);
  return out;
}

function parseJsonl<T>(text: string | null): T[] {
  if (!text) return [];
  const out: T[] = [];
  for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line) as T);
  return out;
}

function parseSpans(text: string | null): Span[] {
  return parseJsonl<Span>(text).map((s) => ({
    ...s,
    instance: s.instance ?? '',
    parent_span_id: s.parent_span_id ?? null,
    status: s.status ?? null,
  }));
}

function parseLogs(text: string | null): LogRecord[] {
  return parseJsonl<LogRecord>(text).map((l) => ({ ...l, instance: l.instance ?? '' }));
}

function loadTelemetry(dir: string): CaseTelemetry {
  return {
    metrics: parseMetrics(readMaybeGz(dir, 'metrics.csv')),
    logs: parseLogs(readMaybeGz(dir, 'logs.jsonl')),
    spans: parseSpans(readMaybeGz(dir, 'traces.jsonl')),
  };
}

function parseTopology(text: string | null): Topology | null {
  return text ? topologyFromJson(JSON.parse(text)) : null;
}

export function listCases(dataset: string): string[] {
  return readdirSync(join(DATASETS_DIR, dataset, 'cases')).sort();
}

export function loadCase(dataset: string, id: string): LoadedCase {
  const dir = join(DATASETS_DIR, dataset, 'cases', id);
  const meta = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as {
    alert: { labels: Record<string, string>; annotations?: Record<string, string>; startsAt: string };
  };
  const baseDir = join(dir, 'baseline');
  const service = meta.alert.labels.service;
  return {
    id,
    dataset,
    alert: meta.alert,
    incidentStart: Date.parse(meta.alert.startsAt) / 1000,
    alertedServices: service ? [service] : [],
    telemetry: loadTelemetry(dir),
    baseline: existsSync(baseDir) ? loadTelemetry(baseDir) : null,
    topology: parseTopology(readMaybeGz(dir, 'topology.json')),
  };
}

/** The true root cause, for scoring only: never pass it to the analyses. */
export function loadTruth(dataset: string, id: string): { service: string; instance?: string; fault_type?: string } {
  const raw = JSON.parse(readFileSync(join(DATASETS_DIR, dataset, 'cases', id, 'truth.json'), 'utf8')) as {
    root_cause: { service: string; instance?: string; fault_type?: string };
  };
  return raw.root_cause;
}
