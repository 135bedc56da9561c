/**
 * Builds the evidence packets of an incident's significant steps (diagnosis conclusion,
 * checkpoint decisions, actions, compensations, verification, escalation) and appends
 * them to the audit log through the recordEvidence activity. Packet ids are derived
 * from the incident and the step, so a retried append records a step once. A failed
 * append is noted in the incident's timeline, never silently dropped.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { EvidencePacketInput } from '../src/audit/evidence-packet.js';
import type { SourceEvidence } from '../src/schemas/evidence.js';
import type { Inference } from '../src/schemas/incident.js';

/** The prompt and model behind an inference. */
export function agentOf(inference: Inference | null): { promptVersion: string; model: string } {
  return { promptVersion: inference?.llm?.promptVersion ?? 'none', model: inference?.llm?.model ?? 'builtin' };
}
import { record } from './activity-profiles.js';
import { failureMessage } from './failure-message.js';

const recording = proxyActivities<Activities>(record);

const CAPABILITY_OF: Record<SourceEvidence['source'], string> = {
  metrics: 'metrics.query_range',
  logs: 'logs.search',
  traces: 'traces.search',
  topology: 'topology.get',
};

export interface RecorderContext {
  incidentId: string;
  policyVersion: () => string;
  /** Which prompt and model stand behind the step (builtin when no LLM). */
  agent: () => { promptVersion: string; model: string };
  onFailure: (message: string) => void;
}

export type PacketBody = Omit<EvidencePacketInput, 'packetId' | 'incidentId' | 'timestamp' | 'agentVersion'>;

export function createEvidenceRecorder(ctx: RecorderContext) {
  const info = workflowInfo();
  return async (step: string, body: PacketBody): Promise<void> => {
    const agent = ctx.agent();
    const packet: EvidencePacketInput = {
      ...body,
      packetId: `${ctx.incidentId}/${info.firstExecutionRunId.slice(0, 8)}/${step}`,
      incidentId: ctx.incidentId,
      timestamp: new Date(Date.now()).toISOString(),
      agentVersion: {
        workflowBuildId: `${info.workflowType}@${info.currentBuildId ?? 'unversioned'}`,
        policyVersion: ctx.policyVersion(),
        promptVersion: agent.promptVersion,
        model: agent.model,
      },
    };
    try {
      await recording.recordEvidence({ packet });
    } catch (err) {
      ctx.onFailure(`evidence for ${step} could not be recorded: ${failureMessage(err)}`);
    }
  };
}

/** The tool calls behind a diagnosis, by the digests and references of what they returned. */
export function diagnosisToolCalls(evidence: SourceEvidence[], window: { start: number; end: number }): EvidencePacketInput['toolCalls'] {
  return evidence.map((e) => ({
    tool: CAPABILITY_OF[e.source],
    input: window,
    ...(e.digest ? { outputDigest: e.digest } : {}),
    ...(e.ref ? { outputRef: e.ref } : {}),
    status: e.status === 'missing' ? ('error' as const) : ('ok' as const),
    ...(e.error ? { error: e.error } : {}),
  }));
}
