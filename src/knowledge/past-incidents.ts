/**
 * Past incidents are the JSON reports vigil writes (<dataDir>/reports/*.json). They are
 * searched by the alerts and leading candidates of a new incident: lexically (BM25) here,
 * and through a KnowledgeStore (knowledge-store.ts) with optional embeddings.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert } from '../schemas/alert.js';
import type { Candidate } from '../schemas/evidence.js';
import { IncidentStatus, type SimilarIncident } from '../schemas/incident.js';
import { bm25Search } from './bm25.js';

/** Report files modified this long before `closedSince` are still read (clocks of hosts sharing a data directory). */
const MTIME_SLACK_MS = 3_600_000;

/**
 * The closed incidents' reports under `reportsDir`. With `closedSince` (ISO time), only
 * incidents whose last timeline entry is at or after it; files last written well before
 * it are not read at all (a report is written when its incident closes, and relabelled later).
 */
export async function loadPastIncidents(reportsDir: string, excludeId?: string, opts: { closedSince?: string } = {}): Promise<IncidentStatus[]> {
  let files: string[];
  try {
    files = (await readdir(reportsDir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const since = opts.closedSince === undefined ? undefined : Date.parse(opts.closedSince);
  if (since !== undefined && !Number.isFinite(since)) throw new Error(`closedSince is not a time: "${opts.closedSince}"`);
  const out: IncidentStatus[] = [];
  for (const f of files) {
    try {
      if (since !== undefined && (await stat(join(reportsDir, f))).mtimeMs < since - MTIME_SLACK_MS) continue;
      const parsed = IncidentStatus.safeParse(JSON.parse(await readFile(join(reportsDir, f), 'utf8')));
      if (!parsed.success || parsed.data.incidentId === excludeId || parsed.data.stage !== 'closed') continue;
      if (since !== undefined && !(Date.parse(parsed.data.timeline.at(-1)?.at ?? '') >= since)) continue;
      out.push(parsed.data);
    } catch {
      // an unreadable report is skipped, not fatal to a new incident
    }
  }
  return out;
}

/** The text an incident is searched by: its title, alerts, leading candidates and root cause. */
export function describeIncident(s: Pick<IncidentStatus, 'title' | 'alerts' | 'candidates' | 'inference'>): string {
  return [
    s.title,
    ...s.alerts.map((a) => `${a.labels['alertname'] ?? ''} ${a.labels['service'] ?? ''} ${a.annotations['summary'] ?? ''}`),
    ...s.candidates.slice(0, 3).map((c) => `${c.service} ${c.indicator ?? ''}`),
    s.inference?.rootCause ? `${s.inference.rootCause.service} ${s.inference.rootCause.indicator ?? ''}` : '',
  ].join(' ');
}

/** The search text of a new incident (nothing inferred yet). */
export function incidentQuery(current: { alerts: Alert[]; candidates: Candidate[] }): string {
  return describeIncident({ title: '', alerts: current.alerts, candidates: current.candidates, inference: null });
}

/**
 * The confirmed root cause of a past incident: the commander's post-incident label wins,
 * then an accepted override, then what the agent concluded or inferred.
 */
export function confirmedRootCause(p: IncidentStatus): string | undefined {
  const labelled = p.feedback?.confirmedRootCause;
  const overridden = [...p.decisions].reverse().find((d) => d.accepted && d.kind === 'override')?.rootCauseService;
  return labelled ?? overridden ?? p.rootCause?.service ?? p.inference?.rootCause?.service;
}

export function toSimilarIncident(p: IncidentStatus, similarity: number, extra: Partial<SimilarIncident> = {}): SimilarIncident {
  const service = confirmedRootCause(p);
  return { id: p.incidentId, title: p.title || p.incidentId, similarity, ...(service ? { rootCauseService: service } : {}), ...extra };
}

export function findSimilarIncidents(past: IncidentStatus[], current: { alerts: Alert[]; candidates: Candidate[] }, limit = 3): SimilarIncident[] {
  const byId = new Map(past.map((p) => [p.incidentId, p]));
  return bm25Search(past.map((p) => ({ id: p.incidentId, text: describeIncident(p) })), incidentQuery(current), { limit }).flatMap((hit) => {
    const p = byId.get(hit.id);
    return p ? [toSimilarIncident(p, hit.score)] : [];
  });
}
