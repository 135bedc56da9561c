/** `vigil incidents list | show <id>`: what incidents exist and where each one stands. */
import { INCIDENT_WORKFLOW } from '../../workflows/messages.js';
import type { IncidentStatus } from '../schemas/incident.js';
import { CliError, connectClient, incidentStatus, int, print, resolveConfig } from './cli-common.js';

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
