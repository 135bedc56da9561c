/**
 * Reads a workflow history as plain data: each event's id, time, type (e.g.
 * "ActivityTaskScheduled") and attributes, with payloads decoded by the default payload
 * converter. What the decision timeline and the what-if replay read; no server needed.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { eventTypeName, type History, type HistoryEvent } from './history-json.js';

export interface EventView {
  id: number;
  /** ISO-8601. */
  at: string;
  /** PascalCase without prefix: "ActivityTaskScheduled", "WorkflowExecutionUpdateCompleted", ... */
  type: string;
  attrs: Record<string, unknown>;
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v ?? 0);
}

function isoOf(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): string {
  if (!ts) return '';
  return new Date(toNumber(ts.seconds) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

function typeName(n: unknown): string {
  const name = eventTypeName(n);
  // EVENT_TYPE_ACTIVITY_TASK_SCHEDULED → ActivityTaskScheduled
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)([a-z])/g, (_m, _u: string, c: string) => c.toUpperCase());
}

export function eventView(e: HistoryEvent): EventView {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k]);
  return {
    id: toNumber(e.eventId),
    at: isoOf(e.eventTime as { seconds?: unknown; nanos?: number | null } | null | undefined),
    type: typeName(e.eventType),
    attrs: (key ? (e as Record<string, unknown>)[key] : {}) as Record<string, unknown>,
  };
}

export function eventViews(history: History): EventView[] {
  return (history.events ?? []).map(eventView);
}

/** The values of a Payloads field ({ payloads: [...] }), decoded; undecodable ones as a note. */
export function decodePayloads(p: unknown): unknown[] {
  const list = (p as { payloads?: Payload[] | null } | null | undefined)?.payloads ?? [];
  return list.map((payload) => {
    try {
      return defaultPayloadConverter.fromPayload(payload);
    } catch (err) {
      return { undecodable: (err as Error).message };
    }
  });
}

/** The first decoded value of a Payloads field. */
export function firstPayload<T = unknown>(p: unknown): T | undefined {
  return decodePayloads(p)[0] as T | undefined;
}

export function num(v: unknown): number {
  return toNumber(v);
}

/** "30s" for a Duration {seconds, nanos}. */
export function durationText(d: unknown): string {
  if (!d || typeof d !== 'object') return '?';
  const s = toNumber((d as { seconds?: unknown }).seconds) + ((d as { nanos?: number | null }).nanos ?? 0) / 1e9;
  return `${Number.isInteger(s) ? s : s.toFixed(3)}s`;
}

/** The message of a Failure, with its causes. */
export function failureText(f: unknown): string {
  const parts: string[] = [];
  for (let cur = f as { message?: string | null; cause?: unknown } | null | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    if (cur.message) parts.push(cur.message);
  }
  return parts.join(': ') || 'failed';
}

/** Workflow type, input and parent of a history (its first event). */
export function startOf(history: History): { workflowType: string; input: unknown; parent?: { workflowId: string; runId: string; initiatedEventId: number }; firstRunId: string; at: string } {
  const first = history.events?.[0];
  if (!first) throw new Error('the history has no events');
  const a = first.workflowExecutionStartedEventAttributes;
  if (!a) throw new Error(`the history does not begin with WorkflowExecutionStarted (event 1 is ${typeName(first.eventType)})`);
  const parent = a.parentWorkflowExecution;
  return {
    workflowType: a.workflowType?.name ?? '?',
    input: firstPayload(a.input),
    ...(parent?.workflowId ? { parent: { workflowId: parent.workflowId, runId: parent.runId ?? '', initiatedEventId: toNumber(a.parentInitiatedEventId) } } : {}),
    firstRunId: a.firstExecutionRunId ?? a.originalExecutionRunId ?? '',
    at: isoOf(first.eventTime as { seconds?: unknown; nanos?: number | null } | null | undefined),
  };
}
