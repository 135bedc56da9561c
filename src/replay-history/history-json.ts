/**
 * Workflow histories as JSON files, in the format of `temporal workflow show --output json`
 * (proto JSON: `{"events": [...]}`), to and from the SDK's History object.
 *
 * Same conversion as the SDK's historyFromJSON / historyToJSON (@temporalio/common
 * proto-utils), done with the protobufjs copy that @temporalio/proto's types belong to:
 * when npm installs several copies of protobufjs 8 (one under each @temporalio package),
 * the SDK's helpers fail with "type must be a Type" because they mix two copies.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { temporal } from '@temporalio/proto';

export type History = temporal.api.history.v1.IHistory;
export type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface ProtoJsonType {
  fullName: string;
}
interface ProtoRoot {
  lookupType(name: string): ProtoJsonType & { fromObject(o: unknown): unknown };
  lookupEnum(name: string): { valuesById: Record<number, string> };
}
interface ProtoJson {
  fromJson(type: ProtoJsonType, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
  toJson(type: ProtoJsonType, message: unknown): unknown;
}

const requireHere = createRequire(import.meta.url);
const requireFromProto = createRequire(requireHere.resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const root = requireHere('@temporalio/proto') as ProtoRoot;
const historyType = root.lookupType('temporal.api.history.v1.History');
const eventTypes = root.lookupEnum('temporal.api.enums.v1.EventType');

/** "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED" for the enum value of an event's type. */
export function eventTypeName(value: unknown): string {
  return typeof value === 'number' ? (eventTypes.valuesById[value] ?? `EVENT_TYPE_${value}`) : String(value);
}

/** Thrown when a file or value is not a workflow history. */
export class HistoryFormatError extends Error {
  override readonly name = 'HistoryFormatError';
}

function constantCase(s: string): string {
  return s.replace(/[^\b][A-Z]/g, (m) => `${m[0]}_${m[1]}`).toUpperCase();
}

/** Older tools wrote enum values in PascalCase without their prefix ("ActivityTaskScheduled"). */
function fixEnum(obj: Record<string, unknown>, attr: string, prefix: string): Record<string, unknown> {
  const v = obj[attr];
  if (typeof v !== 'string' || v.startsWith(prefix)) return {};
  return { [attr]: `${prefix}_${constantCase(v)}` };
}

function fixEvent(e: Record<string, unknown>): Record<string, unknown> {
  const key = Object.keys(e).find((k) => k.endsWith('EventAttributes'));
  if (!key) throw new HistoryFormatError(`event ${String(e['eventId'] ?? '?')} has no attributes`);
  const a = (e[key] ?? {}) as Record<string, unknown>;
  const failureInfo = a['childWorkflowExecutionFailureInfo'] as Record<string, unknown> | undefined;
  const taskQueue = a['taskQueue'] as Record<string, unknown> | undefined;
  return {
    ...e,
    ...fixEnum(e, 'eventType', 'EVENT_TYPE'),
    [key]: {
      ...a,
      ...(taskQueue ? { taskQueue: { ...taskQueue, ...fixEnum(taskQueue, 'kind', 'TASK_QUEUE_KIND') } } : {}),
      ...fixEnum(a, 'parentClosePolicy', 'PARENT_CLOSE_POLICY'),
      ...fixEnum(a, 'workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY'),
      ...fixEnum(a, 'initiator', 'CONTINUE_AS_NEW_INITIATOR'),
      ...fixEnum(a, 'retryState', 'RETRY_STATE'),
      ...(failureInfo ? { childWorkflowExecutionFailureInfo: { ...failureInfo, ...fixEnum(failureInfo, 'retryState', 'RETRY_STATE') } } : {}),
    },
  };
}

/** A History from its proto JSON (the parsed content of a `temporal workflow show --output json` file). */
export function historyFromJson(json: unknown): History {
  const events = (json as { events?: unknown } | null)?.events;
  if (typeof json !== 'object' || json === null || !Array.isArray(events)) throw new HistoryFormatError('not a workflow history: expected an object with an array of events');
  if (events.length === 0) throw new HistoryFormatError('the history has no events');
  try {
    return protojson.fromJson(historyType, { events: (events as Record<string, unknown>[]).map(fixEvent) }, { ignoreUnknownFields: true }) as History;
  } catch (err) {
    if (err instanceof HistoryFormatError) throw err;
    throw new HistoryFormatError(`not a workflow history: ${(err as Error).message}`);
  }
}

/** The proto JSON of a History, as `temporal workflow show --output json` writes it. */
export function historyToJson(history: History): unknown {
  return protojson.toJson(historyType, historyType.fromObject(history));
}

/** Reads a history file; errors name the file. */
export function readHistoryFile(path: string): History {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new HistoryFormatError(`cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HistoryFormatError(`${path} is not JSON: ${(err as Error).message}`);
  }
  try {
    return historyFromJson(json);
  } catch (err) {
    throw new HistoryFormatError(`${path}: ${(err as Error).message}`);
  }
}
