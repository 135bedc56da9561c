/**
 * `vigil approve | reject | override <id> --as <who>`: a person's decision at the
 * checkpoint, sent as a Temporal update so the answer (accepted or refused, and why)
 * comes back at once. An approval carries the digest of the plan the person was shown.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decideUpdate } from '../../workflows/messages.js';
import type { Decision, DecisionKind } from '../schemas/incident.js';
import { appendCliEvidence } from './cli-audit.js';
import { CliError, connectClient, incidentStatus, print, resolveConfig, str } from './cli-common.js';

export async function runDecide(kind: DecisionKind, v: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const [id] = positionals;
  if (!id) throw new CliError(`${kind} needs an incident id`, 2, true);
  const actor = str(v['as']);
  if (!actor) throw new CliError(`${kind} needs --as <identity>`, 2, true);
  const rootCause = str(v['root-cause']);
  if (kind === 'override' && !rootCause) throw new CliError('override needs --root-cause <service>', 2, true);
  const { config } = resolveConfig(v);
  const { client, connection } = await connectClient(config);
  try {
    const status = await incidentStatus(client, id);
    if (kind !== 'takeover' && status.stage !== 'checkpoint') throw new CliError(`incident ${id} is not waiting for a decision (stage: ${status.stage})`);
    const reason = str(v['reason']);
    const token = str(v['token']) ?? process.env['VIGIL_APPROVER_TOKEN'];
    const decision: Decision = {
      kind,
      actor,
      ...(reason ? { reason } : {}),
      ...(rootCause ? { rootCauseService: rootCause } : {}),
      ...(str(v['indicator']) ? { rootCauseIndicator: str(v['indicator']) } : {}),
      ...(status.checkpoint?.bindingDigest ? { planDigest: status.checkpoint.bindingDigest } : {}),
      ...(token ? { token } : {}),
    };
    try {
      const recorded = await client.workflow.getHandle(id).executeUpdate(decideUpdate, { args: [decision] });
      print(recorded, v['json'] === true, () => `${kind} by ${recorded.actor} (${recorded.role ?? '?'}, ${recorded.verifiedBy ?? '?'}) accepted for ${id}${kind === 'approve' && status.plan ? `: ${status.plan.summary}` : ''}`);
      return 0;
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const why = (err.cause as Error | undefined)?.message ?? err.message;
        await appendCliEvidence(config, status.policyVersion ?? 'unknown', {
          kind: 'decision-refused',
          incidentId: id,
          planSummary: status.plan?.summary ?? 'no plan',
          justification: `refused ${kind} by ${actor}: ${why}`,
          policy: { decidingRule: 'checkpoint authorization (update validator)', outcome: `refused: ${why}` },
          actor: { type: 'system', id: actor },
          details: { kind, claimedIdentity: actor, usedToken: token !== undefined },
        });
        print({ accepted: false, refusal: why }, v['json'] === true, () => `refused: ${why}`);
        return 1;
      }
      throw err;
    }
  } finally {
    await connection.close();
  }
}
