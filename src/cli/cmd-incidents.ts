/** `vigil incidents list | show <id> | alerts <id>`: what incidents exist, where each one stands, and all its alerts. */
import type { Client } from '@temporalio/client';
import { INCIDENT_WORKFLOW, incidentAlertsQuery } from '../../workflows/messages.js';
import { ALERTS_PAGE_LIMIT } from '../alerts/bounded-alerts.js';
import type { Alert } from '../schemas/alert.js';
import type { AlertsPage, IncidentStatus } from '../schemas/incident.js';
import { CliError, connectClient, incidentStatus, int, print, resolveConfig } from './cli-common.js';

/** Alerts `incidents show` prints (the status holds up to 500; `incidents alerts` lists all). */
const SHOWN_ALERTS = 10;

function alertLine(a: Alert): string {
  return `${a.status.padEnd(8)} ${a.labels['alertname'] ?? 'alert'} on ${a.labels['service'] ?? a.labels['job'] ?? '?'} since ${a.startsAt}  [${a.fingerprint}]`;
}

function oneLine(s: IncidentStatus): string {
  const rc = s.inference?.rootCause?.service ?? '?';
  const conf = s.inference ? ` ${(s.inference.confidence * 100).toFixed(0)}%` : '';
  const waiting = s.stage === 'checkpoint' ? ` waiting for ${s.checkpoint?.allowedRoles.join('/') ?? '?'}` : '';
  return `${s.incidentId}  ${s.severity}  ${s.stage}${waiting}  root cause ${rc}${conf}  ${s.outcome ?? ''}  ${s.title}`;
}

export function describeIncident(s: IncidentStatus): string {
  const lines = [oneLine(s), ''];
  if (s.checkpoint?.required) lines.push(`checkpoint: ${s.checkpoint.reasons.join('; ')}${s.checkpoint.since ? ` (since ${s.checkpoint.since})` : ''}`);
  if (s.plan) lines.push(`plan: ${s.plan.summary} [digest ${s.plan.digest.slice(0, 12)}]`);
  for (const st of s.plan?.steps.filter((x) => x.irreversible) ?? []) lines.push(`  ${st.id} has NO UNDO: ${st.irreversible?.why ?? ''} (allowed by ${st.irreversible?.rule ?? '?'})`);
  for (const p of s.checkpoint?.prepared ?? []) {
    lines.push(`  prepared ${p.stepId}: ${p.summary} [${p.handle}, until ${new Date(p.expiresAt * 1000).toISOString()}]`);
  }
  for (const r of s.releases ?? []) lines.push(`  released ${r.stepId} (${r.handle}) without a commit: ${r.status}: ${r.reason}`);
  if (s.missingSources.length) lines.push(`missing evidence: ${s.missingSources.join(', ')}`);
  const total = s.alertsTotal ?? s.alerts.length;
  const shown = s.alerts.slice(0, SHOWN_ALERTS);
  const counts = s.alertsFiring !== undefined && s.alertsResolved !== undefined ? ` (${s.alertsFiring} firing, ${s.alertsResolved} resolved)` : '';
  const more = shown.length < total ? `, showing ${shown.length} of ${total}: \`vigil incidents alerts ${s.incidentId}\` lists all` : '';
  lines.push(`alerts: ${total}${counts}${more}`);
  for (const a of shown) lines.push(`  ${alertLine(a)}`);
  lines.push('candidates:');
  s.candidates.slice(0, 5).forEach((c, i) => lines.push(`  ${i + 1}. ${c.service} ${c.score.toFixed(3)} ${c.indicator ?? ''}`));
  lines.push('timeline:');
  for (const t of s.timeline) lines.push(`  ${t.at} ${t.stage}: ${t.note}`);
  if (s.report) lines.push(`report: ${s.report.markdownPath}`);
  return lines.join('\n');
}

export async function runIncidents(v: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const [sub, id] = positionals;
  const asJson = v['json'] === true;
  const { config } = resolveConfig(v);
  const { client, connection } = await connectClient(config);
  try {
    if (sub === 'show') {
      if (!id) throw new CliError('incidents show needs an incident id', 2, true);
      const s = await incidentStatus(client, id);
      print(s, asJson, () => describeIncident(s));
      return 0;
    }
    if (sub === 'alerts') {
      if (!id) throw new CliError('incidents alerts needs an incident id', 2, true);
      const all = await allAlerts(client, id);
      // Thousands of alerts: wait until stdout has taken them (bin/vigil.js exits right after).
      await writeFlushed(asJson ? `${JSON.stringify(all, null, 2)}\n` : `${all.length ? all.map(alertLine).join('\n') : 'no alerts'}\n`);
      return 0;
    }
    if (sub !== undefined && sub !== 'list') throw new CliError(`unknown incidents subcommand "${sub}"`, 2, true);
    const limit = int(v['limit'], 'limit') ?? 20;
    const out: IncidentStatus[] = [];
    for await (const wf of client.workflow.list({ query: `WorkflowType = '${INCIDENT_WORKFLOW}'` })) {
      if (out.length >= limit) break;
      try {
        out.push(await incidentStatus(client, wf.workflowId));
      } catch {
        // a run that cannot answer queries (e.g. failed before its handlers) is skipped
      }
    }
    print(out, asJson, () => (out.length ? out.map(oneLine).join('\n') : 'no incidents'));
    return 0;
  } finally {
    await connection.close();
  }
}

/** Every alert of the incident, in arrival order, paging through the `incident-alerts` query. */
export async function allAlerts(client: Client, id: string): Promise<Alert[]> {
  await incidentStatus(client, id); // an unknown incident is a clear error
  const handle = client.workflow.getHandle(id);
  const out: Alert[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page: AlertsPage = await handle.query(incidentAlertsQuery, { offset, limit: ALERTS_PAGE_LIMIT });
    out.push(...page.alerts);
    offset = page.nextOffset;
  }
  return out;
}

function writeFlushed(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}
