/**
 * Rehearses an incident on the running simulator: injects a fault (dated a little in
 * the past, as if it began before anyone noticed) and posts the Alertmanager webhook a
 * Prometheus rule on the user-facing service would have sent, through vigil's ingest.
 */
import { createHash } from 'node:crypto';
import type { Severity } from '../schemas/alert.js';

export interface SimulateRequest {
  controlUrl: string;
  ingestUrl: string;
  fault: string;
  service: string;
  severity: Severity;
  failStep?: number;
  /** How long ago the fault began. @default 90 */
  agoSeconds?: number;
  /** The service the alert fires on (what users see). @default 'frontend' */
  alertService?: string;
  /** Bearer token for ingest, if it requires one. */
  token?: string;
  /** Extra alert annotations (e.g. a runbook URL, or, in tests, hostile text). */
  annotations?: Record<string, string>;
}

export interface SimulateResult {
  incidentId: string;
  faultId: string;
  alert: Record<string, unknown>;
}

/** Thrown with the simulator's or ingest's own error message. */
export class SimulateError extends Error {
  override readonly name = 'SimulateError';
}

async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  } catch (err) {
    throw new SimulateError(`cannot reach ${url}: ${(err as Error).message} (is \`vigil dev\` running?)`);
  }
  const text = await res.text();
  let json: unknown = text;
  try {
    json = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, json };
}

function errorText(json: unknown): string {
  if (json && typeof json === 'object') {
    const e = (json as { error?: unknown }).error;
    if (typeof e === 'string') return e;
    if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  }
  return typeof json === 'string' ? json : JSON.stringify(json);
}

export async function simulateIncident(req: SimulateRequest): Promise<SimulateResult> {
  const now = Date.now() / 1000;
  const startedAt = Math.floor(now - (req.agoSeconds ?? 90));
  const injected = await postJson(`${req.controlUrl}/faults`, {
    kind: req.fault,
    service: req.service,
    startedAt,
    ...(req.failStep ? { failStep: req.failStep } : {}),
  });
  if (injected.status !== 201) throw new SimulateError(`simulator refused the fault: ${errorText(injected.json)}`);
  const faultId = String((injected.json as { faultId?: unknown }).faultId);

  const target = req.alertService ?? 'frontend';
  const latencyKinds = new Set(['cpu-saturation', 'network-latency']);
  const alertname = latencyKinds.has(req.fault) ? 'HighLatency' : 'HighErrorRate';
  // Prometheus dates an alert from when its condition first held: one scrape after the fault.
  const startsAt = new Date((startedAt + 15) * 1000).toISOString();
  const labels = { alertname, service: target, severity: req.severity.toLowerCase(), env: 'simulated' };
  const alert = {
    status: 'firing',
    labels,
    annotations: {
      summary: `${target} ${alertname === 'HighLatency' ? 'p99 latency' : 'error rate'} above SLO`,
      description: `Rehearsal: fault ${req.fault} injected into ${req.service} (fault id ${faultId}).`,
      ...req.annotations,
    },
    startsAt,
    endsAt: '0001-01-01T00:00:00Z',
    generatorURL: `http://prometheus.simulated/graph?g0.expr=${encodeURIComponent(`${alertname}{service="${target}"}`)}`,
    fingerprint: createHash('sha256').update(`${faultId}@${startedAt}:${alertname}:${target}`).digest('hex').slice(0, 16),
  };
  const webhook = {
    version: '4',
    groupKey: `{}:{alertname="${alertname}", service="${target}", fault="${faultId}@${startedAt}"}`,
    truncatedAlerts: 0,
    status: 'firing',
    receiver: 'vigil',
    groupLabels: { alertname, service: target },
    commonLabels: labels,
    commonAnnotations: alert.annotations,
    externalURL: 'http://alertmanager.simulated',
    alerts: [alert],
  };
  const posted = await postJson(`${req.ingestUrl}/v1/alerts/alertmanager`, webhook, req.token ? { authorization: `Bearer ${req.token}` } : {});
  if (posted.status !== 202) throw new SimulateError(`ingest refused the alert (${posted.status}): ${errorText(posted.json)}`);
  const incidents = (posted.json as { incidents?: { id: string }[] }).incidents ?? [];
  const incidentId = incidents[0]?.id;
  if (!incidentId) throw new SimulateError('ingest accepted the alert but named no incident');
  return { incidentId, faultId, alert };
}
