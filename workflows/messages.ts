/**
 * Signals, queries and updates of the incident workflow, defined once and imported by
 * both the workflow and its clients (ingest, CLI, tests).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Alert, AlertBatch } from '../src/schemas/alert.js';
import type { CorrelateRequest, CorrelateResponse, CorrelatorState, InhibitionView } from '../src/aggregation/correlation.js';
import type { DeliveryResult, GroupState } from '../src/aggregation/group-state.js';
import type { RoutingLease } from '../src/aggregation/routing-lease.js';
import type { AggregationSettings, InhibitRule } from '../src/aggregation/settings.js';
import type { AlertsPage, AlertsPageQuery, Decision, IncidentStatus, KillSwitchCommand, KillSwitchState, RecordedDecision, SagaProgress } from '../src/schemas/incident.js';

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

/* ---- alert aggregation (AlertGroupWorkflow, AlertCorrelatorWorkflow) ---- */

export const ALERT_GROUP_WORKFLOW = 'AlertGroupWorkflow';
export const ALERT_CORRELATOR_WORKFLOW = 'AlertCorrelatorWorkflow';

/**
 * A batch of one group's alerts; the answer says where each alert went (validated: malformed
 * batches are refused). With it the sender may hand over its aggregation settings (a group
 * whose settings differ adopts them before deciding on the batch) and ask for the group's
 * routing lease in the answer.
 */
export const deliverAlertsUpdate = defineUpdate<DeliveryResult, [AlertBatch, DeliveryOptions?]>('deliver-alerts');

export interface DeliveryOptions {
  settings?: AggregationSettings;
  /** Answer with the routing lease (src/aggregation/routing-lease.ts); the sender uses leases. */
  lease?: boolean;
}

/** The group's records: incidents, where each alert went, suppressions. */
export const groupStatusQuery = defineQuery<GroupStatus>('group-status');

/** The group's routing lease now (src/aggregation/routing-lease.ts); its incident is null when it has no current one. */
export const routingLeaseQuery = defineQuery<RoutingLease>('routing-lease');

/** An incident tells its group (its parent, or a group that merged into it) that it closed. */
export const incidentClosedSignal = defineSignal<[IncidentClosed]>('incident-closed');

/**
 * An incident whose pipeline ended tells the group that opened it, and waits for
 * `incidentReleaseSignal` before its report: the group first hands over every alert it
 * told a sender went there (queued for a flush, or under a routing lease still in use).
 */
export const incidentClosingSignal = defineSignal<[IncidentClosing]>('incident-closing');
/** The group has handed a closing incident everything promised to it: it may close. */
export const incidentReleaseSignal = defineSignal<[IncidentRelease]>('incident-release');

export interface IncidentClosing {
  incidentId: string;
  /** From the owning group to a linked group: it names the incident in no lease from now on, and says so. */
  owner?: string;
  /** From a linked group back to the owner: its leases naming the incident have run out, and what they promised was passed on. */
  heardBy?: string;
}

export interface IncidentRelease {
  incidentId: string;
  /** Why the group held it (shown in the incident's timeline); absent when nothing was held. */
  held?: string;
}

/** Another group's alerts joining an incident this group owns (topology / same-service merge). */
export const forwardedAlertsSignal = defineSignal<[ForwardedAlerts]>('forwarded-alerts');

/** The correlator's one decision point: inhibition across groups and linked-incident lookup. */
export const correlateUpdate = defineUpdate<CorrelateResponse[], [CorrelateRequest[]]>('correlate');
export const correlatorStatusQuery = defineQuery<CorrelatorState>('correlator-status');
/** What the correlator's firing sources inhibit now under the given rules: ingest's view for routing leases. */
export const inhibitionViewQuery = defineQuery<InhibitionView, [InhibitRule[]]>('inhibition-view');

export interface IncidentClosed {
  incidentId: string;
  outcome: string;
  /** Alerts the owner could not take any more (its incident had closed): the sender routes them again. */
  bounced?: Alert[];
  /** Firing alerts that reached the incident after its diagnosis: the group opens a follow-up incident for them. */
  followUp?: Alert[];
}

export interface ForwardedAlerts {
  incidentId: string;
  fromGroup: string;
  alerts: Alert[];
  rule: string;
}

export interface GroupStatus {
  groupKey: string;
  groupId: string;
  settings: AggregationSettings;
  state: GroupState;
}

/* ---- an incident's alerts, paged (the status lists at most 500 of them) ---- */

/**
 * A page of the incident's alerts in arrival order, with the counts (`{ offset, limit }`,
 * limit at most 500; a bad argument fails the query with the reason). Page with
 * `nextOffset` until it is null to list every alert.
 */
export const incidentAlertsQuery = defineQuery<AlertsPage, [AlertsPageQuery]>('incident-alerts');
