/**
 * `npm run demo`: one whole incident on the embedded default. Starts the stack (fresh
 * data dir, free ports), injects a fault into the simulator, posts the alert an
 * alerting system would post, lets the workflow diagnose, approves the checkpoint as
 * the incident commander, and waits for remediation and verification. Exits 0 only if
 * the top-ranked root cause is the injected one and the service recovered.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { decideUpdate, statusQuery } from '../../workflows/messages.js';
import { startDevStack } from '../dev/dev-stack.js';
import { simulateIncident } from '../dev/simulate-incident.js';
import { createLogger } from '../logger.js';
import type { IncidentStatus } from '../schemas/incident.js';
import { dataDirOf, int, str } from './cli-common.js';

const COMMANDER = 'commander@local';

export async function runDemo(v: Record<string, string | boolean | undefined>): Promise<number> {
  const dataDir = join(dataDirOf(v), 'demo');
  rmSync(dataDir, { recursive: true, force: true });
  const fault = str(v['fault']) ?? 'bad-release';
  const service = str(v['service']) ?? 'payment';
  const say = (l: string) => process.stdout.write(`${l}\n`);
  const logger = createLogger({ name: 'vigil-demo', level: 'warn' });

  say('demo: starting Temporal (embedded), the simulator, a worker and alert ingest...');
  const stack = await startDevStack({
    dataDir,
    logger,
    log: say,
    ingestPort: 0,
    simulatorPort: 0,
    seed: int(v['seed'], 'seed') ?? 42,
    settings: { groupWaitSeconds: 2, metricsStepSeconds: 5 },
  });
  try {
    const e = stack.endpoints;
    say(`demo: Temporal ${e.temporalAddress}, UI ${e.temporalUiUrl ?? 'off'}, ingest ${e.ingestUrl}`);
    say(`demo: injecting ${fault} into ${service} and posting a P0 Alertmanager alert on frontend`);
    const sim = await simulateIncident({ controlUrl: e.simulatorControlUrl, ingestUrl: e.ingestUrl, fault, service, severity: 'P0' });
    say(`demo: incident ${sim.incidentId} opened`);
    const handle = stack.client.workflow.getHandle(sim.incidentId);

    const deadline = Date.now() + 5 * 60_000;
    // The incident opens once its alert group's group_wait is over.
    let status: IncidentStatus | undefined;
    while (!status) {
      status = await handle.query(statusQuery).catch((err: unknown) => {
        if (Date.now() > deadline) throw err;
        return undefined;
      });
      if (!status) await new Promise((r) => setTimeout(r, 250));
    }
    let lastStage = '';
    while (status.stage !== 'checkpoint' && status.stage !== 'closed' && Date.now() < deadline) {
      if (status.stage !== lastStage) say(`demo:   stage ${status.stage}`);
      lastStage = status.stage;
      await new Promise((r) => setTimeout(r, 500));
      status = await handle.query(statusQuery);
    }
    if (status.stage === 'checkpoint' && status.plan) {
      say(`demo: checkpoint: ${status.checkpoint?.reasons.join('; ')}`);
      say(`demo: proposed: ${status.plan.summary}`);
      for (const p of status.checkpoint?.prepared ?? []) say(`demo: prepared before asking (committed only after approval): ${p.stepId}: ${p.summary}`);
      say(`demo: approving as ${COMMANDER} (incident commander)`);
      const rec = await handle.executeUpdate(decideUpdate, {
        args: [{ kind: 'approve', actor: COMMANDER, reason: 'demo: evidence reviewed', planDigest: status.checkpoint?.bindingDigest ?? '' }],
      });
      say(`demo: approval accepted (${rec.role ?? '?'}, policy ${rec.policyVersion})`);
    }
    const final: IncidentStatus = await handle.result();
    const top = final.candidates[0];
    const recovered = final.outcome === 'remediated' && final.verification?.recovered === true;
    say('');
    say(`report:       ${final.report?.markdownPath ?? '(none)'}`);
    say(`root cause:   ${top ? `${top.service} (score ${top.score.toFixed(3)}${top.indicator ? `, ${top.indicator}` : ''})` : 'none'}; inference ${final.inference?.rootCause?.service ?? '?'} at ${((final.inference?.confidence ?? 0) * 100).toFixed(0)}% confidence`);
    say(`outcome:      ${final.outcome ?? '?'}${final.verification ? ` (${final.verification.summary})` : ''}`);
    if (e.temporalUiUrl) say(`Temporal UI:  ${e.temporalUiUrl}/namespaces/${e.namespace}/workflows/${encodeURIComponent(sim.incidentId)}`);
    const ok = top?.service === service && recovered;
    say(ok ? `demo: OK: ${service} found as the root cause and recovered` : `demo: FAILED: expected root cause ${service} and recovery`);
    return ok ? 0 : 1;
  } finally {
    await stack.stop();
  }
}
