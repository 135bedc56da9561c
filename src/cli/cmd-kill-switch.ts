/**
 * `vigil pause [--service <name>] --as <who> [--reason ...]` and `vigil resume`: the kill
 * switch. Durable (a Temporal workflow holds it), effective before the next action of
 * every running incident, and recorded with who and why.
 */
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { KILL_SWITCH_WORKFLOW, KILL_SWITCH_WORKFLOW_ID, pauseUpdate, resumeUpdate } from '../../workflows/messages.js';
import { appendCliEvidence } from './cli-audit.js';
import { CliError, connectClient, print, resolveConfig, str } from './cli-common.js';

export async function runKillSwitch(action: 'pause' | 'resume', v: Record<string, string | boolean | undefined>): Promise<number> {
  const by = str(v['as']);
  if (!by) throw new CliError(`${action} needs --as <identity>`, 2, true);
  const service = str(v['service']);
  const reason = str(v['reason']);
  const { config } = resolveConfig(v);
  const { client, connection } = await connectClient(config);
  try {
    const startWorkflowOperation = new WithStartWorkflowOperation(KILL_SWITCH_WORKFLOW, {
      workflowId: KILL_SWITCH_WORKFLOW_ID,
      taskQueue: config.temporal.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [],
    });
    startWorkflowOperation.workflowHandle().catch(() => undefined); // a failure surfaces through the update
    const state = await client.workflow.executeUpdateWithStart(action === 'pause' ? pauseUpdate : resumeUpdate, {
      args: [{ by, ...(service ? { service } : {}), ...(reason ? { reason } : {}) }],
      startWorkflowOperation,
    });
    await appendCliEvidence(config, 'n/a', {
      kind: 'kill-switch',
      planSummary: `${action} autonomous action ${service ? `for ${service}` : 'everywhere'}`,
      justification: reason ?? `${action} by ${by}`,
      actor: { type: 'system', id: by },
      details: { action, service: service ?? null },
    });
    const paused = [state.global ? 'everything' : '', ...Object.keys(state.services)].filter(Boolean);
    print(state, v['json'] === true, () => `${action === 'pause' ? 'paused' : 'resumed'}${service ? ` ${service}` : ''} by ${by}; autonomous action now paused for: ${paused.join(', ') || 'nothing'}`);
    return 0;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) throw new CliError(`refused: ${(err.cause as Error | undefined)?.message ?? err.message}`);
    throw err;
  } finally {
    await connection.close();
  }
}
