/**
 * A deliberately changed IncidentWorkflow for the replay tests: it loads its context like
 * the real one, then starts analysing at once, without the group-wait timer the recorded
 * histories have. Replaying a recorded incident against it must fail at that timer.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { IncidentInput } from '../../src/schemas/incident.js';

const local = proxyActivities<Activities>({ startToCloseTimeout: '30s' });

export async function IncidentWorkflow(input: IncidentInput): Promise<void> {
  await local.loadIncidentContext({ overrides: input.settings ?? {} });
  await local.analyzeMetrics({ incidentId: input.incidentId, alertedServices: [], incidentStart: 0, baselineStart: 0, end: 1, stepSeconds: 5 });
}
