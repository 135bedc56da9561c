/**
 * Past incidents are the JSON reports vigil writes (<dataDir>/reports/*.json). They are
 * searched lexically (BM25) by the alerts and leading candidates of a new incident.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Alert } from '../schemas/alert.js';
import type { Candidate } from '../schemas/evidence.js';
import { IncidentStatus, type SimilarIncident } from '../schemas/incident.js';
import { bm25Search } from './bm25.js';

export async function loadPastIncidents(reportsDir: string, excludeId?: string): Promise<IncidentStatus[]> {
  let files: string[];
  try {
    files = (await readdir(reportsDir)).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return [];
  }
  const out: IncidentStatus[] = [];
  for (const f of files) {
    try {
      const parsed = IncidentStatus.safeParse(JSON.parse(await readFile(join(reportsDir, f), 'utf8')));
      if (parsed.success && parsed.data.incidentId !== excludeId && parsed.data.stage === 'closed') out.push(parsed.data);
    } catch {
      // an unreadable report is skipped, not fatal to a new incident
    }
  }
  return out;
}

function describe(s: Pick<IncidentStatus, 'title' | 'alerts' | 'candidates' | 'inference'>): string {
  return [
    s.title,
    ...s.alerts.map((a) => `${a.labels['alertname'] ?? ''} ${a.labels['service'] ?? ''} ${a.annotations['summary'] ?? ''}`),
    ...s.candidates.slice(0, 3).map((c) => `${c.service} ${c.indicator ?? ''}`),
    s.inference?.rootCause ? `${s.inference.rootCause.service} ${s.inference.rootCause.indicator ?? ''}` : '',
  ].join(' ');
}

export function findSimilarIncidents(past: IncidentStatus[], current: { alerts: Alert[]; candidates: Candidate[] }, limit = 3): SimilarIncident[] {
  const byId = new Map(past.map((p) => [p.incidentId, p]));
  const query = describe({ title: '', alerts: current.alerts, candidates: current.candidates, inference: null });
  return bm25Search(past.map((p) => ({ id: p.incidentId, text: describe(p) })), query, { limit }).map((hit) => {
    const p = byId.get(hit.id);
    // The commander's post-incident label wins, then an override, then what the agent inferred.
    const labelled = p?.feedback?.confirmedRootCause;
    const confirmed = [...(p?.decisions ?? [])].reverse().find((d) => d.accepted && d.kind === 'override')?.rootCauseService;
    const service = labelled ?? confirmed ?? p?.rootCause?.service ?? p?.inference?.rootCause?.service;
    return { id: hit.id, title: p?.title ?? hit.id, similarity: hit.score, ...(service ? { rootCauseService: service } : {}) };
  });
}
