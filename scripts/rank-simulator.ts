/**
 * Ranks the built-in simulator's faults through the real analyses (no Temporal).
 *   node --import tsx scripts/rank-simulator.ts <fault> <service> [alert-service] [seconds-since-onset]
 *   node --import tsx scripts/rank-simulator.ts --matrix     every fault kind × a few services, alerted on the service and on frontend
 * The alert fires 75 s before "now"; the fault began `sinceOnset` seconds before now
 * (90 s by default; the matrix gives a memory leak 10 minutes to show).
 */
import { SimulatorModel, FAULT_KINDS, type FaultKind } from '../src/simulator/index.js';
import { analyzeMetrics } from '../src/analysis/metrics.js';
import { analyzeLogs } from '../src/analysis/log-templates.js';
import { analyzeTraces } from '../src/analysis/traces.js';
import { analyzeTopology } from '../src/analysis/topology.js';
import { rankCandidates } from '../src/ranking/rank-candidates.js';
import type { Candidate, SourceEvidence } from '../src/schemas/evidence.js';

export interface SimulatedFault {
  kind: FaultKind;
  service: string;
  /** Service the alert is about. @default service */
  alertService?: string;
  /** Seconds between the fault's onset and now. @default 90 */
  sinceOnset?: number;
  /** @default 44 */
  seed?: number;
}

/** Alert name the simulator's alerting would raise for a fault kind. */
export function simulatedAlertName(kind: FaultKind): string {
  return kind === 'cpu-saturation' || kind === 'network-latency' ? 'HighLatency' : 'HighErrorRate';
}

/** Injects one fault, reads 30 minutes of telemetry and ranks the candidates. */
export function rankSimulatedFault(input: SimulatedFault): { candidates: Candidate[]; evidence: SourceEvidence[] } {
  const t = 1_800_000_000;
  const alertSvc = input.alertService ?? input.service;
  const m = new SimulatorModel({ seed: input.seed ?? 44, now: () => t });
  m.inject({ kind: input.kind, service: input.service, startedAt: t - (input.sinceOnset ?? 90) });
  const start = t - 75;
  const base = start - 1800;
  const series = m.queryMetrics({ start: base, end: t, step: 5 }).series;
  const logs = m.searchLogs({ start: base, end: t, limit: 50000 }).logs;
  const spans = m.searchTraces({ start: base, end: t, limit: 200000 }).spans;
  const topology = m.topology({});
  const { callGraph: _cg, ...traces } = analyzeTraces({ spans, incidentStart: start });
  void _cg;
  const evidence: SourceEvidence[] = [
    analyzeMetrics({ series, incidentStart: start }),
    analyzeLogs({ logs, incidentStart: start }),
    traces,
    analyzeTopology({ topology, alertedServices: [alertSvc], incidentStart: start }),
  ];
  const candidates = rankCandidates({
    evidence,
    topology,
    alertedServices: [alertSvc],
    incidentStart: start,
    alerts: [{ labels: { alertname: simulatedAlertName(input.kind), service: alertSvc }, annotations: {} }],
  });
  return { candidates, evidence };
}

/** Services each fault kind is tried on (db-pool-exhaustion needs a database pool). */
export function simulatorMatrix(): SimulatedFault[] {
  const out: SimulatedFault[] = [];
  for (const { kind } of FAULT_KINDS)
    for (const service of ['payment', 'inventory', 'catalog', 'cart', 'checkout']) {
      if (kind === 'db-pool-exhaustion' && !['payment', 'inventory', 'catalog'].includes(service)) continue;
      for (const alertService of [service, 'frontend'])
        out.push({ kind, service, alertService, sinceOnset: kind === 'memory-leak' ? 600 : 90 });
    }
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  if (args[0] === '--matrix') {
    let first = 0;
    const cases = simulatorMatrix();
    for (const c of cases) {
      const { candidates } = rankSimulatedFault(c);
      const pos = candidates.findIndex((x) => x.service === c.service);
      if (pos === 0) first++;
      const top = candidates.slice(0, 3).map((x) => `${x.service} ${x.score.toFixed(2)}`).join(', ');
      console.log(`${pos === 0 ? 'ok  ' : 'MISS'} ${c.kind.padEnd(19)} ${c.service.padEnd(10)} alert ${(c.alertService ?? '').padEnd(10)} pos ${pos}  ${top}`);
    }
    console.log(`${first}/${cases.length} ranked first`);
    return;
  }
  const kind = (args[0] ?? 'cpu-saturation') as FaultKind;
  const service = args[1] ?? 'payment';
  const { candidates } = rankSimulatedFault({
    kind,
    service,
    alertService: args[2] ?? service,
    ...(args[3] ? { sinceOnset: Number(args[3]) } : {}),
  });
  for (const x of candidates.slice(0, 4))
    console.log(x.service, x.score.toFixed(3), x.indicator, '|', x.reasons.slice(0, 3).join(' || ').slice(0, 400));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) main();
