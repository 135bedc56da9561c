/** Closed incidents for knowledge-base tests: valid IncidentStatus reports, written or kept in memory. */
import { writeReportFiles } from '../../src/report/report-store.js';
import { IncidentStatus } from '../../src/schemas/incident.js';

export interface PastIncidentSpec {
  id: string;
  title: string;
  alertname: string;
  service: string;
  summary: string;
  /** The service the agent concluded. */
  inferred: string;
  indicator?: string;
  /** The commander's post-incident label. */
  confirmed?: string;
  closedAt?: string;
}

export function closedIncident(p: PastIncidentSpec): IncidentStatus {
  const at = p.closedAt ?? '2026-11-01T10:00:00.000Z';
  return IncidentStatus.parse({
    incidentId: p.id,
    stage: 'closed',
    severity: 'P2',
    title: p.title,
    alerts: [{ fingerprint: `fp-${p.id}`, status: 'firing', labels: { alertname: p.alertname, service: p.service }, annotations: { summary: p.summary }, startsAt: at, source: 'test' }],
    evidence: [],
    missingSources: [],
    topologyServices: [p.service, p.inferred, ...(p.confirmed ? [p.confirmed] : [])],
    candidates: [{ service: p.inferred, ...(p.indicator ? { indicator: p.indicator } : {}), score: 0.8, reasons: [], findingIds: [] }],
    hypotheses: [],
    history: null,
    inference: { reasoner: 'builtin', rootCause: { service: p.inferred }, confidence: 0.8, reasoning: [], evidenceRefs: [], decidedBy: 'builtin', handOff: false, notes: [] },
    rootCause: { service: p.inferred },
    plan: null,
    checkpoint: null,
    decisions: [],
    saga: null,
    verification: null,
    outcome: 'no-action',
    policyVersion: 'test',
    timeline: [{ at, stage: 'closed', note: 'no-action' }],
    report: null,
    ...(p.confirmed ? { feedback: { confirmedRootCause: p.confirmed, correct: p.confirmed === p.inferred, inferred: p.inferred, helpful: true, by: 'commander@local', at } } : {}),
  });
}

export async function writeClosedIncidents(reportsDir: string, specs: PastIncidentSpec[]): Promise<IncidentStatus[]> {
  const out = specs.map(closedIncident);
  for (const s of out) await writeReportFiles(reportsDir, s, {});
  return out;
}
