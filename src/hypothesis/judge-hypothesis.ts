/**
 * A sub-agent's judgement of one root-cause hypothesis ("the cause is in service S"),
 * from telemetry fetched for S alone: evidence for (its own metrics jumped, new error
 * templates in its logs, failing traces end in it, call trees stop short in it or right
 * after calling it, it changed just before) and against
 * (nothing abnormal of its own, a callee degraded earlier, a caller degraded before it).
 * Pure and deterministic.
 */
import { analyzeLogs } from '../analysis/log-templates.js';
import { analyzeMetrics, analyzeMetricsWithBaseline } from '../analysis/metrics.js';
import { analyzeTraces } from '../analysis/traces.js';
import type { Finding } from '../schemas/evidence.js';
import type { HypothesisVerdict } from '../schemas/incident.js';
import type { LogRecord, MetricSeries, Span, Topology } from '../schemas/telemetry.js';

/** Robust z above which a metric of the service counts as its own anomaly. */
const OWN_ANOMALY_Z = 6;
/** How long before the incident a deploy or config change counts as a suspect. */
const CHANGE_WINDOW_SECONDS = 3600;

export interface JudgeInput {
  service: string;
  incidentStart: number;
  series: MetricSeries[];
  logs: LogRecord[];
  spans: Span[];
  topology: Topology | null;
  /** The incident's findings for every service (for onset comparisons with neighbours). */
  incidentFindings: Finding[];
  /** The service's metrics over a fault-free reference period (metrics.baseline), if any. */
  baselineSeries?: MetricSeries[];
  /** Traces of a fault-free reference period that touch the service (traces.baseline), if any. */
  baselineSpans?: Span[];
}

export interface Judgement {
  verdict: Exclude<HypothesisVerdict, 'not-investigated'>;
  evidenceFor: string[];
  evidenceAgainst: string[];
}

const iso = (t: number) => new Date(t * 1000).toISOString().slice(11, 19) + 'Z';

function earliestOnset(findings: Finding[], service: string): number | null {
  const onsets = findings.filter((f) => f.service === service && f.onset !== null && f.source !== 'topology').map((f) => f.onset as number);
  return onsets.length ? Math.min(...onsets) : null;
}

/** The peer a `<metric>_to_<peer>` edge metric measured at `measuredAt` describes, or null. */
function peerOf(indicator: string, measuredAt: string): string | null {
  const peer = /_to_([A-Za-z0-9._:-]+)$/.exec(indicator)?.[1];
  return peer && peer !== measuredAt ? peer : null;
}

export function judgeHypothesis(input: JudgeInput): Judgement {
  const { service } = input;
  const evidenceFor: string[] = [];
  const evidenceAgainst: string[] = [];

  const series = input.series.filter((s) => s.service === service);
  const baselineSeries = (input.baselineSeries ?? []).filter((s) => s.service === service);
  const metrics =
    baselineSeries.length > 0
      ? analyzeMetricsWithBaseline({ series, baselineSeries, incidentStart: input.incidentStart })
      : analyzeMetrics({ series, incidentStart: input.incidentStart });
  // A metric named `..._to_<peer>` describes the peer as this service sees it, not this service.
  const own = metrics.findings.filter((f) => f.service === service && f.score >= OWN_ANOMALY_Z && peerOf(f.indicator, service) === null);
  if (own[0]) evidenceFor.push(`own metrics: ${own[0].summary}${own.length > 1 ? ` (+${own.length - 1} more)` : ''}`);
  const seenByCallers = input.incidentFindings.filter((f) => f.source === 'metrics' && f.score >= OWN_ANOMALY_Z && peerOf(f.indicator, f.service) === service);
  if (seenByCallers[0]) evidenceFor.push(`as its callers see it: ${seenByCallers[0].summary}`);

  const logs = analyzeLogs({ logs: input.logs.filter((l) => l.service === service), incidentStart: input.incidentStart });
  const errorTemplates = logs.findings.filter((f) => f.service === service && /error|warn/i.test(f.summary) && f.direction !== 'down');
  if (errorTemplates[0]) evidenceFor.push(`own logs: ${errorTemplates[0].summary}`);

  const traces = analyzeTraces({
    spans: input.spans,
    incidentStart: input.incidentStart,
    ...(input.baselineSpans && input.baselineSpans.length > 0 ? { baselineSpans: input.baselineSpans } : {}),
  });
  const origin = traces.findings.find((f) => f.service === service && f.id.endsWith(':origin'));
  if (origin) evidenceFor.push(`traces: ${origin.summary}`);
  // Call trees that stopped short in it, or right after calling it (analysis/traces missingCalls).
  const shortened = traces.findings.find((f) => f.service === service && /:(missing-calls|cut-after)$/.test(f.id));
  if (shortened) evidenceFor.push(`traces: ${shortened.summary}`);
  const elsewhere = traces.findings.find((f) => f.service !== service && f.id.endsWith(':origin'));
  if (elsewhere && !origin) evidenceAgainst.push(`traces: failing requests end elsewhere: ${elsewhere.summary}`);

  const change = (input.topology?.changes ?? [])
    .filter((c) => c.service === service && (c.kind === 'deploy' || c.kind === 'config' || c.kind === 'flag'))
    .filter((c) => c.at >= input.incidentStart - CHANGE_WINDOW_SECONDS && c.at <= input.incidentStart + 60)
    .sort((a, b) => b.at - a.at)[0];
  if (change) evidenceFor.push(`changed at ${iso(change.at)}, just before the incident: ${change.description}`);

  if (!own[0] && !seenByCallers[0] && !errorTemplates[0] && !origin && !shortened) evidenceAgainst.push(`nothing abnormal of its own in metrics, logs or traces`);

  // What the sub-agent found of the service itself decides the verdict; how its onset
  // compares with its neighbours' is reported beside it, since the ranking already weighs
  // onset order (counting it twice would let one noisy onset overturn the ranking).
  const decisive = evidenceAgainst.length;
  const ownOnset = [own[0]?.onset, ...errorTemplates.map((f) => f.onset)].filter((x): x is number => typeof x === 'number');
  const myOnset = ownOnset.length ? Math.min(...ownOnset) : earliestOnset(input.incidentFindings, service);
  const edges = input.topology?.edges ?? [];
  if (myOnset !== null) {
    for (const callee of edges.filter((e) => e.source === service).map((e) => e.target)) {
      const o = earliestOnset(input.incidentFindings, callee);
      if (o !== null && o < myOnset) evidenceAgainst.push(`its callee ${callee} degraded earlier (${iso(o)} before ${iso(myOnset)})`);
    }
    for (const caller of edges.filter((e) => e.target === service).map((e) => e.source)) {
      const o = earliestOnset(input.incidentFindings, caller);
      if (o !== null && o < myOnset) evidenceAgainst.push(`its caller ${caller} degraded first (${iso(o)} before ${iso(myOnset)}), so it may be a victim`);
    }
  }

  const verdict: Judgement['verdict'] =
    evidenceFor.length === 0 || decisive > evidenceFor.length ? 'refuted' : decisive === 0 ? 'supported' : 'inconclusive';
  return { verdict, evidenceFor, evidenceAgainst };
}
