/**
 * Log template mining and log anomaly analysis. Templates are mined Drain-style
 * (simplified): a message is tokenized on whitespace, variable-looking tokens
 * (numbers, hex, UUIDs, IPs, quoted values, key=value values, long ids) are masked
 * as `<*>`, and messages are clustered per (service, token count, first token) by
 * positional token similarity; positions that differ inside a cluster become `<*>`.
 * analyzeLogs compares per-service template counts before and during the incident:
 * new templates and surging ones stand out, weighted by level (error > warn > info).
 * Log text is untrusted: it is only counted, and quoted truncated and sanitized.
 * Pure and deterministic.
 */
import type { LogRecord } from '../schemas/telemetry.js';
import type { Finding, SourceEvidence } from '../schemas/evidence.js';
import { byScoreThenKey, clockTime, formatNumber, sanitizeQuote } from './robust-stats.js';

export const WILDCARD = '<*>';
/** Two messages of equal length join one template when at least this share of tokens match. @default 0.5 */
export const SIMILARITY_THRESHOLD = 0.5;

const MASKS: RegExp[] = [
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, // uuid
  /^\d{1,3}(\.\d{1,3}){3}(:\d+)?$/, // ipv4[:port]
  /^0x[0-9a-f]+$/i,
  /^[0-9a-f]{8,}$/i, // hex ids, trace ids
  /^[-+]?\d+([.,:]\d+)*(ms|s|m|h|us|ns|b|kb|mb|gb|%)?$/i, // numbers, times, durations
  /^(["'`]).*\1$/, // quoted values
  /^(?=.*\d)[A-Za-z0-9_-]{16,}$/, // long mixed tokens (ids, tokens)
];

/** Masks one token: `<*>` for variable-looking values, `key=<*>` for key=value pairs. */
export function maskToken(token: string): string {
  const trimmed = token.replace(/^[([{<]+|[)\]},;:>]+$/g, '');
  if (trimmed.length === 0) return token;
  const eq = trimmed.indexOf('=');
  if (eq > 0 && eq < trimmed.length - 1) return `${trimmed.slice(0, eq + 1)}${WILDCARD}`;
  for (const re of MASKS) if (re.test(trimmed)) return WILDCARD;
  if (/\d/.test(trimmed) && /^[\w.:/-]+$/.test(trimmed) && /\d{3,}/.test(trimmed)) return WILDCARD;
  return token;
}

/** Tokenize and mask a message (quoted substrings with spaces are masked whole). */
export function tokenize(message: string): string[] {
  const unquoted = message.replace(/"[^"]*"|'[^']*'/g, WILDCARD);
  return unquoted.split(/\s+/).filter((t) => t.length > 0).map(maskToken);
}

export interface Template {
  id: number;
  service: string;
  tokens: string[];
}

/** Drain-like miner. Deterministic for a given sequence of `add` calls. */
export class TemplateMiner {
  private readonly groups = new Map<string, Template[]>();
  private nextId = 0;
  readonly templates: Template[] = [];

  add(service: string, message: string): Template {
    const tokens = tokenize(message);
    const key = `${service}\u0000${tokens.length}\u0000${tokens[0] ?? ''}`;
    const group = this.groups.get(key) ?? [];
    let best: Template | undefined;
    let bestSim = -1;
    for (const t of group) {
      let same = 0;
      let wild = 0;
      for (let i = 0; i < tokens.length; i++) {
        if (t.tokens[i] === WILDCARD) wild++;
        else if (t.tokens[i] === tokens[i]) same++;
      }
      const sim = tokens.length === 0 ? 1 : same / tokens.length;
      if (sim >= SIMILARITY_THRESHOLD && sim > bestSim) {
        best = t;
        bestSim = sim;
      } else if (sim === bestSim && best && wild < best.tokens.filter((x) => x === WILDCARD).length) {
        best = t;
      }
    }
    if (best) {
      for (let i = 0; i < tokens.length; i++) if (best.tokens[i] !== tokens[i]) best.tokens[i] = WILDCARD;
      return best;
    }
    const created: Template = { id: this.nextId++, service, tokens };
    group.push(created);
    this.groups.set(key, group);
    this.templates.push(created);
    return created;
  }
}

export function templateText(t: Template): string {
  return t.tokens.join(' ');
}

export type LogSeverity = 'error' | 'warn' | 'info';

/** Level of a record: its own level field, else keywords in the message. */
export function logSeverity(record: Pick<LogRecord, 'level' | 'message'>): LogSeverity {
  const lvl = (record.level ?? '').toLowerCase();
  if (/err|crit|fatal|emerg|alert|severe|panic/.test(lvl)) return 'error';
  if (/warn/.test(lvl)) return 'warn';
  if (lvl) return /exception|traceback/i.test(record.message) ? 'error' : 'info';
  if (/\b(error|exception|fatal|panic|fail(ed|ure)?|refused|timed? ?out|unavailable)\b/i.test(record.message))
    return 'error';
  if (/\bwarn(ing)?\b/i.test(record.message)) return 'warn';
  return 'info';
}

export const SEVERITY_WEIGHT: Record<LogSeverity, number> = { error: 3, warn: 2, info: 1 };

/** P(X ≥ k) for X ~ Poisson(lambda). */
export function poissonTail(k: number, lambda: number): number {
  if (k <= 0) return 1;
  if (lambda <= 0) return 0;
  let term = Math.exp(-lambda); // P(X = 0)
  let below = 0;
  for (let i = 0; i < k; i++) {
    below += term;
    term *= lambda / (i + 1);
  }
  return Math.max(0, 1 - below);
}

/** Significance level for a template seen before to count as surging. @default 0.01 */
export const SURGE_ALPHA = 0.01;

/**
 * Score of one template's change: level weight times the log-rate surge
 * (log2 of the during/before rate ratio, with a +1 pseudo-count) times a
 * volume term log2(1 + count during). New templates get the surge of a template
 * seen once before, so they never score less than that. A template seen before
 * counts only when its count during the incident is more than its earlier rate
 * explains (Poisson tail below SURGE_ALPHA): a steady template whose count
 * wobbles is no evidence.
 */
export function templateScore(input: {
  before: number;
  during: number;
  beforeSeconds: number;
  duringSeconds: number;
  severity: LogSeverity;
}): number {
  const { before, during, severity } = input;
  if (during === 0) return 0;
  const rb = (before + 1) / Math.max(input.beforeSeconds, 1);
  const rd = during / Math.max(input.duringSeconds, 1);
  const surge = Math.log2(rd / rb);
  if (surge <= 0.5) return 0;
  if (before > 0 && poissonTail(during, (before / Math.max(input.beforeSeconds, 1)) * Math.max(input.duringSeconds, 1)) >= SURGE_ALPHA)
    return 0;
  return SEVERITY_WEIGHT[severity] * surge * Math.log2(1 + during);
}

export interface AnalyzeLogsInput {
  logs: LogRecord[];
  incidentStart: number;
  /** @default 50 */
  maxFindings?: number;
}

interface Tally {
  template: Template;
  before: number;
  during: number;
  severity: LogSeverity;
  firstDuring: number | null;
  example: string;
  instances: Map<string, number>;
}

/** New and surging log templates per service around incidentStart. */
export function analyzeLogs(input: AnalyzeLogsInput): SourceEvidence {
  const { incidentStart } = input;
  if (input.logs.length === 0) return { source: 'logs', status: 'empty', findings: [], stats: { records: 0 } };
  const logs = [...input.logs].sort(
    (a, b) =>
      a.timestamp - b.timestamp ||
      (a.service < b.service ? -1 : a.service > b.service ? 1 : 0) ||
      (a.message < b.message ? -1 : a.message > b.message ? 1 : 0),
  );
  const miner = new TemplateMiner();
  const tallies = new Map<Template, Tally>();
  const severityRank: Record<LogSeverity, number> = { info: 0, warn: 1, error: 2 };
  let tMin = Infinity;
  let tMax = -Infinity;
  const servicesWithPast = new Set<string>();
  for (const r of logs) {
    tMin = Math.min(tMin, r.timestamp);
    tMax = Math.max(tMax, r.timestamp);
    const tpl = miner.add(r.service, r.message);
    let t = tallies.get(tpl);
    if (!t) {
      t = { template: tpl, before: 0, during: 0, severity: 'info', firstDuring: null, example: r.message, instances: new Map() };
      tallies.set(tpl, t);
    }
    const sev = logSeverity(r);
    if (severityRank[sev] > severityRank[t.severity]) t.severity = sev;
    if (r.timestamp < incidentStart) {
      t.before++;
      servicesWithPast.add(r.service);
    } else {
      t.during++;
      if (t.firstDuring === null) {
        t.firstDuring = r.timestamp;
        t.example = r.message;
      }
      t.instances.set(r.instance, (t.instances.get(r.instance) ?? 0) + 1);
    }
  }
  const beforeSeconds = Math.max(incidentStart - tMin, 1);
  const duringSeconds = Math.max(tMax - incidentStart, 1);
  const findings: Finding[] = [];
  for (const t of tallies.values()) {
    const service = t.template.service;
    // Without any logs before the incident, only error/warn templates are informative.
    const hasPast = servicesWithPast.size > 0;
    if (!hasPast && t.severity === 'info') continue;
    const score = templateScore({ before: t.before, during: t.during, beforeSeconds, duringSeconds, severity: t.severity });
    if (score <= 0) continue;
    const text = sanitizeQuote(templateText(t.template));
    const instances = [...t.instances.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const top = instances[0];
    const instance = top && top[0] && top[1] >= 0.8 * t.during ? top[0] : undefined;
    const what =
      t.before === 0
        ? hasPast
          ? servicesWithPast.has(service)
            ? 'new,'
            : 'new (no earlier logs from this service),'
          : '(no logs before the incident to compare with)'
        : `${t.before} before,`;
    findings.push({
      id: `logs:${service}:${t.template.id}`,
      source: 'logs',
      service,
      ...(instance ? { instance } : {}),
      indicator: `log:${text}`,
      score,
      onset: t.firstDuring,
      summary: `${service} ${t.severity} log template "${text}": ${what} ${t.during} since ${clockTime(incidentStart)}${
        t.firstDuring !== null ? ` (first at ${clockTime(t.firstDuring)})` : ''
      }; example "${sanitizeQuote(t.example)}" (score ${formatNumber(score)})`,
      direction: 'up',
    });
  }
  findings.sort(byScoreThenKey((f) => f.score, (f) => f.id));
  return {
    source: 'logs',
    status: 'ok',
    findings: findings.slice(0, input.maxFindings ?? 50),
    stats: { records: logs.length, templates: miner.templates.length, anomalous: findings.length },
  };
}
