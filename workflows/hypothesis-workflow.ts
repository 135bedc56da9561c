/**
 * HypothesisWorkflow: a sub-agent that investigates one root-cause hypothesis with
 * targeted tool calls and returns evidence for and against it. One child per leading
 * candidate, in parallel; the parent treats a failure or a timeout as "not
 * investigated", never as the incident failing.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Finding } from '../src/schemas/evidence.js';
import type { Hypothesis } from '../src/schemas/incident.js';
import { analysis } from './activity-profiles.js';

const investigating = proxyActivities<Activities>(analysis);

export interface HypothesisInput {
  incidentId: string;
  service: string;
  rank: number;
  incidentStart: number;
  baselineStart: number;
  end: number;
  stepSeconds: number;
  incidentFindings: Finding[];
}

export async function HypothesisWorkflow(input: HypothesisInput): Promise<Hypothesis> {
  return investigating.investigateHypothesis(input);
}
