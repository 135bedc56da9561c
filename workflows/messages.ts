/**
 * Signals, queries and updates of the incident workflow, defined once and imported by
 * both the workflow and its clients (ingest, CLI, tests).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AlertBatch } from '../src/schemas/alert.js';
import type { Decision, IncidentStatus, KillSwitchCommand, KillSwitchState, RecordedDecision, SagaProgress } from '../src/schemas/incident.js';

/** Alerts for this incident's group (fire and forget: alerting systems cannot wait). */
export const alertsSignal = defineSignal<[AlertBatch]>('alerts');

/** A person's decision at the checkpoint; validated, answered at once. */
export const decideUpdate = defineUpdate<RecordedDecision, [Decision]>('decide');

/** The same decision for senders that cannot wait for an answer (refusals are recorded). */
export const decideSignal = defineSignal<[Decision]>('decide-signal');

/** Everything a person needs to follow the incident and decide. */
export const statusQuery = defineQuery<IncidentStatus>('status');

export const INCIDENT_WORKFLOW = 'IncidentWorkflow';
export const REMEDIATION_WORKFLOW = 'RemediationSagaWorkflow';

/** The kill switch (one long-lived workflow per namespace). */
export const KILL_SWITCH_WORKFLOW = 'KillSwitchWorkflow';
export const KILL_SWITCH_WORKFLOW_ID = 'vigil-kill-switch';
export const pauseUpdate = defineUpdate<KillSwitchState, [KillSwitchCommand]>('pause');
export const resumeUpdate = defineUpdate<KillSwitchState, [KillSwitchCommand]>('resume');
export const killSwitchQuery = defineQuery<KillSwitchState>('kill-switch');

/** The remediation saga's own progress (stage, current step, pauses). */
export const sagaStatusQuery = defineQuery<SagaProgress>('saga-status');
