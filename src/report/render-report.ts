/**
 * The diagnostic report, in Markdown for people and JSON for tools and the knowledge
 * base. Alert text and log quotes are untrusted: rendered as quoted data, never as markup
 * that could pass for vigil's own words.
 */
import type { IncidentStatus } from '../schemas/incident.js';

/** Epoch seconds as an ISO-8601 UTC time, to the second. */
const iso = (t: number): string => `${new Date(t * 1000).toISOString().slice(0, 19)}Z`;

export interface ReportLinks {
  temporalUi?: string;
}

/** Neutralises untrusted text for Markdown: one line, no markup, bounded length. */
export function quoteUntrusted(text: string, max = 300): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').replace(/\s+/g, ' ').trim();
  const cut = flat.length > max ? `${flat.slice(0, max)}…` : flat;
  return '`' + cut.replace(/`/g, "'") + '`';
}

/**
 * The line above a storm's alert list: how many there are, how many are listed, where all
 * of them are. Undefined when the list is complete (statuses recorded before the list was
 * bounded have no counts: their list held every alert).
 */
export function alertListing(s: Pick<IncidentStatus, 'alerts' | 'alertsTotal' | 'alertsFiring' | 'alertsResolved' | 'alertsEvidence'>): string | undefined {
  const total = s.alertsTotal ?? s.alerts.length;
  if (total <= s.alerts.length) return undefined;
  const counts = s.alertsFiring !== undefined && s.alertsResolved !== undefined ? ` (${s.alertsFiring.toLocaleString('en-US')} firing, ${s.alertsResolved.toLocaleString('en-US')} resolved)` : '';
  const where = s.alertsEvidence ? `all ${s.alertsEvidence.count.toLocaleString('en-US')} in evidence ${s.alertsEvidence.ref} (sha256 ${s.alertsEvidence.digest.slice(0, 12)})` : 'the whole list was not stored';
  return `Alerts: ${total.toLocaleString('en-US')}${counts}; the first ${s.alerts.length} listed (first alert, then firing, most severe, most recent); ${where}.`;
}

export function renderMarkdown(s: IncidentStatus, links: ReportLinks = {}): string {
  const lines: string[] = [];
  const top = s.rootCause ?? s.inference?.rootCause;
  const overriddenBy = [...s.decisions].reverse().find((d) => d.accepted && d.kind === 'override')?.actor;
  lines.push(`# Incident ${s.incidentId}: ${s.title}`, '');
  lines.push(`- **Severity:** ${s.severity}`);
  lines.push(`- **Outcome:** ${s.outcome ?? 'open'}`);
  lines.push(`- **Root cause:** ${top ? `${top.service}${top.indicator ? ` (${top.indicator})` : ''}` : 'unknown'}${s.inference ? `, confidence ${(s.inference.confidence * 100).toFixed(0)}% (${s.inference.reasoner})` : ''}${overriddenBy ? `; set by ${overriddenBy} (override of ${s.inference?.rootCause?.service ?? 'unknown'})` : ''}`);
  if (s.checkpoint?.uncertain) lines.push(`- **Flagged uncertain:** confidence below the policy threshold; a person confirmed or corrected the root cause`);
  lines.push(`- **Policy version:** ${s.policyVersion ?? '?'}`);
  if (links.temporalUi) lines.push(`- **Temporal UI:** ${links.temporalUi}`);
  if (s.report?.knowledgeError) lines.push(`- **Knowledge base:** ${quoteUntrusted(s.report.knowledgeError, 400)}`);
  lines.push('');

  lines.push('## Timeline', '');
  for (const t of s.timeline) lines.push(`- ${t.at} **${t.stage}**: ${t.note}`);
  lines.push('');

  lines.push('## Alerts', '');
  const listing = alertListing(s);
  if (listing) lines.push(listing, '');
  for (const a of s.alerts) {
    lines.push(`- ${a.status} ${quoteUntrusted(a.labels['alertname'] ?? 'alert', 80)} on ${quoteUntrusted(a.labels['service'] ?? a.labels['job'] ?? '?', 80)} since ${a.startsAt}${a.annotations['summary'] ? `: ${quoteUntrusted(a.annotations['summary'])}` : ''}${a.generatorURL ? ` ([source](${encodeURI(a.generatorURL)}))` : ''}`);
  }
  lines.push('');

  lines.push('## Evidence', '');
  for (const e of s.evidence) {
    const ref = e.stats['referenceStart'] !== undefined && e.stats['referenceEnd'] !== undefined ? `, judged against the fault-free reference ${iso(e.stats['referenceStart'])} to ${iso(e.stats['referenceEnd'])}` : '';
    lines.push(`### ${e.source} (${e.status}${e.ref ? `, raw: ${e.ref}` : ''}${ref})`, '');
    if (e.status === 'missing') lines.push(`Missing: ${quoteUntrusted(e.error ?? 'unavailable')}`);
    for (const f of e.findings.slice(0, 8)) lines.push(`- [${f.id}] ${quoteUntrusted(f.summary, 400)} (score ${f.score.toFixed(2)})`);
    lines.push('');
  }
  if (s.missingSources.length) lines.push(`**Missing evidence:** ${s.missingSources.map((m) => quoteUntrusted(m, 200)).join(', ')}`, '');

  lines.push('## Root-cause candidates', '');
  s.candidates.slice(0, 5).forEach((c, i) => {
    lines.push(`${i + 1}. **${c.service}**${c.instance ? ` / ${c.instance}` : ''}${c.indicator ? ` (${c.indicator})` : ''}: score ${c.score.toFixed(3)}`);
    for (const r of c.reasons.slice(0, 5)) lines.push(`   - ${quoteUntrusted(r, 400)}`);
  });
  lines.push('');

  if (s.hypotheses.length) {
    lines.push('## Hypotheses investigated', '');
    for (const h of s.hypotheses) {
      lines.push(`- **${h.service}** (ranked ${h.rank}): ${h.verdict}${h.error ? ` (${quoteUntrusted(h.error, 200)})` : ''}`);
      for (const f of h.evidenceFor) lines.push(`  - for: ${quoteUntrusted(f, 300)}`);
      for (const a of h.evidenceAgainst) lines.push(`  - against: ${quoteUntrusted(a, 300)}`);
    }
    lines.push('');
  }

  if (s.inference) {
    lines.push('## Inference', '');
    lines.push(`Decided by: ${s.inference.decidedBy}${s.inference.handOff ? ` (handed to a person: ${s.inference.handOffReason ?? 'see notes'})` : ''}`, '');
    for (const n of s.inference.notes) lines.push(`- ${n}`);
    for (const r of s.inference.reasoning) lines.push(`- ${quoteUntrusted(r, 500)}`);
    const llm = s.inference.llm;
    if (llm) {
      lines.push('', `LLM ${llm.provider}/${llm.model} (prompt ${llm.promptVersion}), ${llm.calls.length} call(s), ${llm.tokens.thisInference} tokens (incident ${llm.tokens.used}/${llm.tokens.budget})`);
      for (const c of llm.calls) lines.push(`- call ${c.attempt}: ${c.outcome}${c.code ? ` (${c.code})` : ''}${c.detail ? `: ${quoteUntrusted(c.detail, 200)}` : ''}`);
      if (llm.answer) {
        lines.push(`- answer: ${quoteUntrusted(llm.answer.service, 80)} (self-reported ${(llm.answer.selfReportedConfidence * 100).toFixed(0)}%, ${llm.answer.agreesWithBuiltin ? 'agrees' : 'disagrees'} with the built-in reasoner)`);
        for (const step of llm.answer.recommendedSteps) lines.push(`  - suggested (advice, not executed): ${quoteUntrusted(step, 300)}`);
      }
    }
    lines.push('');
  }

  lines.push('## Similar incidents and runbooks', '');
  for (const n of s.history?.retrieval?.notes ?? []) lines.push(`- ${n}`);
  for (const h of s.history?.similarIncidents ?? [])
    lines.push(`- past incident ${h.id}: ${quoteUntrusted(h.title, 120)} (root cause ${h.rootCauseService ?? '?'}, similarity ${h.similarity.toFixed(2)}${h.matchedBy ? `, found by ${h.matchedBy.join(' and ')} search` : ''})`);
  for (const r of s.history?.runbooks ?? []) lines.push(`- runbook **${r.title}** (${r.path}): ${r.steps.map((x) => `${x.action} [${x.risk ?? '?'}]`).join(', ')}`);
  if (!s.history?.similarIncidents.length && !s.history?.runbooks.length) lines.push('- none found');
  lines.push('');

  lines.push('## Remediation', '');
  if (s.plan) {
    lines.push(`Plan: ${s.plan.summary} (digest ${s.plan.digest.slice(0, 12)})`, '');
    for (const st of s.plan.steps) {
      const phases = st.twoPhase ? ' (two-phase: prepared before the checkpoint, committed after it)' : '';
      const undo = st.irreversible ? `**no undo**: ${st.irreversible.why} (allowed by ${st.irreversible.rule}; a person approved)` : `undo: ${st.compensation}`;
      lines.push(`- ${st.id} ${st.action} ${st.service} [risk ${st.risk}]${phases}: ${st.description}; ${undo}`);
    }
    for (const e of s.plan.excluded ?? []) lines.push(`- left out of the plan: ${e.action} ${e.service}: ${e.description}: ${e.reason}`);
  } else lines.push('No plan.');
  lines.push('');
  if (s.checkpoint?.prepared?.length) {
    lines.push('### Prepared before the checkpoint', '');
    for (const p of s.checkpoint.prepared) lines.push(`- ${p.stepId} ${p.handle}: ${p.summary} (prepared ${new Date(p.preparedAt * 1000).toISOString()}, held until ${new Date(p.expiresAt * 1000).toISOString()})`);
    if (s.checkpoint.preparedDigest) lines.push('', `The approval bound to these (digest ${s.checkpoint.preparedDigest.slice(0, 12)}).`);
    lines.push('');
  }
  if (s.releases?.length) {
    lines.push('### Prepared steps released without a commit', '');
    for (const r of s.releases) lines.push(`- ${r.at} ${r.stepId} ${r.handle}: ${r.status}${r.error ? ` (${r.error}; lapses at ${new Date(r.expiresAt * 1000).toISOString()})` : ''}: ${quoteUntrusted(r.reason, 200)}`);
    lines.push('');
  }
  if (s.decisions.length) {
    lines.push('### Decisions', '');
    for (const d of s.decisions) lines.push(`- ${d.at} ${d.actor} (${d.role ?? 'unknown role'}): ${d.kind}${d.accepted ? '' : ` REFUSED: ${d.refusal ?? ''}`}${d.reason ? `: ${quoteUntrusted(d.reason, 200)}` : ''} [policy ${d.policyVersion}]`);
    lines.push('');
  }
  if (s.saga) {
    lines.push('### Actions', '');
    for (const a of s.saga.actions) lines.push(`- ${a.at} ${a.phase === 'do' ? (a.preparedHandle ? `committed prepared ${a.preparedHandle}:` : 'did') : 'undid'} ${a.action} ${a.service} (${a.stepId}, key ${a.idempotencyKey}): ${a.ok ? 'ok' : `FAILED: ${a.error ?? ''}`}${a.result ? ` (${a.result.before.release}/${a.result.before.replicas} → ${a.result.after.release}/${a.result.after.replicas})` : ''}`);
    if (s.saga.remainingUndo.length) lines.push('', `**Left to undo by a person:** ${s.saga.remainingUndo.map((x) => x.description).join('; ')}`);
    lines.push('', `Saga: ${s.saga.outcome}: ${s.saga.summary}`, '');
  }
  if (s.verification) {
    lines.push('### Verification', '', s.verification.summary, '');
    for (const c of s.verification.checks) lines.push(`- ${c.service} ${c.metric}: ${c.observed.toPrecision(3)} (baseline ${c.baseline.toPrecision(3)}, threshold ${c.threshold.toPrecision(3)}) ${c.ok ? 'ok' : 'ABNORMAL'}`);
    lines.push('');
  }
  return lines.join('\n');
}
