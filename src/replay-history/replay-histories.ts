/**
 * Replays recorded workflow histories against the current workflow code (a replay
 * worker: no server) and says, for each, whether it still replays, and if not, at which
 * event it stops. The event comes from the nondeterminism message when it names one
 * ("HistoryEvent(id: 16, TimerStarted)"), else from replaying ever longer prefixes of the
 * history (cut at workflow task starts) until the first that fails.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { readHistoryFile, type History } from './history-json.js';
import { eventViews, num, startOf } from './history-events.js';

export interface ReplayTarget {
  /** What to call it in reports (a file name, a workflow id). */
  name: string;
  history: History;
  /** The workflow id to replay under (histories do not carry their own). */
  workflowId: string;
}

export interface ReplayFailure {
  kind: 'nondeterminism' | 'replay-error';
  message: string;
  /** The first history event the current code does not reproduce, when it could be found. */
  eventId?: number;
  eventType?: string;
  /** How the event was found. */
  locatedBy?: 'message' | 'bisection';
}

export interface ReplayOutcome {
  name: string;
  workflowId: string;
  workflowType: string;
  events: number;
  ok: boolean;
  failure?: ReplayFailure;
}

/** Which workflow code to replay against: a bundle (file or code) or the workflows entry point. */
export type WorkflowCode = { bundlePath: string } | { code: string } | { workflowsPath: string };

/** Bundles the workflow code once (replaying many histories, and bisecting, reuse it). */
export async function loadWorkflowCode(source: WorkflowCode): Promise<{ code: string }> {
  if ('code' in source) return source;
  if ('bundlePath' in source) return { code: readFileSync(source.bundlePath, 'utf8') };
  const bundle = await bundleWorkflowCode({ workflowsPath: source.workflowsPath, logger: silentLogger });
  return { code: bundle.code };
}

const noop = () => undefined;
const silentLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };

function replayOptions(code: { code: string }): ReplayWorkerOptions {
  return { workflowBundle: code, replayName: 'vigil-replay', logger: silentLogger } as ReplayWorkerOptions;
}

const EVENT_IN_MESSAGE = /HistoryEvent\(id: (\d+), (\w+)\)/;

function failureOf(error: Error): ReplayFailure {
  const nondeterminism = error.name === 'DeterminismViolationError' || /nondeterminism/i.test(error.message);
  // Keep Core's own sentence: it says what did not match.
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(error.message)?.[1];
  const message = (inner ?? error.message).replace(/\\"/g, '"');
  const found = EVENT_IN_MESSAGE.exec(message);
  return {
    kind: nondeterminism ? 'nondeterminism' : 'replay-error',
    message,
    ...(found ? { eventId: Number(found[1]), eventType: found[2], locatedBy: 'message' as const } : {}),
  };
}

async function replayAll(code: { code: string }, targets: { history: History; workflowId: string }[], stopAtFirstFailure = false): Promise<(Error | undefined)[]> {
  const out: (Error | undefined)[] = [];
  if (targets.length === 0) return out;
  const results = Worker.runReplayHistories(replayOptions(code), targets);
  for await (const r of results) {
    out.push(r.error);
    if (stopAtFirstFailure && r.error) break;
  }
  return out;
}

/**
 * The first event the code does not reproduce: replays the prefixes of the history that
 * end at each workflow task start, and returns the first event after the longest prefix
 * that still replays (the commands of that workflow task are where the code diverges).
 */
export async function locateDivergence(code: { code: string }, target: { history: History; workflowId: string }): Promise<{ eventId: number; eventType: string } | undefined> {
  const events = target.history.events ?? [];
  const views = eventViews(target.history);
  const cuts = views.flatMap((v, i) => (v.type === 'WorkflowTaskStarted' ? [i] : []));
  // Binary search over the cuts: prefixes replay until the first failing one, then never again.
  let lo = 0;
  let hi = cuts.length; // cuts[hi] fails (hi = cuts.length: only the whole history is known to fail)
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const cut = cuts[mid] ?? 0;
    const [err] = await replayAll(code, [{ history: { events: events.slice(0, cut + 1) }, workflowId: target.workflowId }]);
    if (err) hi = mid;
    else lo = mid + 1;
  }
  const passing = lo > 0 ? (cuts[lo - 1] ?? 0) : 0;
  // The first command event after the passing prefix's workflow task (skip task bookkeeping).
  const bookkeeping = new Set(['WorkflowTaskScheduled', 'WorkflowTaskStarted', 'WorkflowTaskCompleted', 'WorkflowTaskFailed', 'WorkflowTaskTimedOut', 'ActivityTaskStarted']);
  const next = views.slice(passing + 1).find((v) => !bookkeeping.has(v.type)) ?? views[Math.min(views.length - 1, passing + 1)];
  return next ? { eventId: next.id, eventType: next.type } : undefined;
}

/** Replays each target; failures carry the event where the code diverges. */
export async function replayHistories(code: { code: string }, targets: ReplayTarget[]): Promise<ReplayOutcome[]> {
  const errors = await replayAll(code, targets);
  const outcomes: ReplayOutcome[] = [];
  for (const [i, t] of targets.entries()) {
    const err = errors[i];
    const base = { name: t.name, workflowId: t.workflowId, workflowType: startOf(t.history).workflowType, events: t.history.events?.length ?? 0 };
    if (!err) {
      outcomes.push({ ...base, ok: true });
      continue;
    }
    const failure = failureOf(err);
    if (failure.eventId === undefined) {
      const at = await locateDivergence(code, t).catch(() => undefined);
      if (at) Object.assign(failure, { ...at, locatedBy: 'bisection' });
    }
    outcomes.push({ ...base, ok: false, failure });
  }
  return outcomes;
}

/**
 * The workflow id a history ran under, when the history itself says (histories do not
 * carry it): an incident's id is its input's incidentId; a child's is in its parent's
 * history (`parents`: histories by first run id); else `fallback`.
 */
export function workflowIdOf(history: History, fallback: string, parents: ReadonlyMap<string, History> = new Map()): string {
  const start = startOf(history);
  if (start.parent) {
    const parent = parents.get(start.parent.runId);
    const initiated = parent?.events?.find((e) => num(e.eventId) === start.parent?.initiatedEventId)?.startChildWorkflowExecutionInitiatedEventAttributes;
    if (initiated?.workflowId) return initiated.workflowId;
  }
  const input = start.input as { incidentId?: unknown } | undefined;
  if (start.workflowType === 'IncidentWorkflow' && typeof input?.incidentId === 'string') return input.incidentId;
  if (start.workflowType === 'RemediationSagaWorkflow' && typeof input?.incidentId === 'string') return `${input.incidentId}-remediation`;
  return fallback;
}

/** Histories by their first run id (to find a child's parent). */
export function byFirstRunId(histories: History[]): Map<string, History> {
  return new Map(histories.map((h) => [startOf(h).firstRunId, h]));
}

export interface HistoryFile {
  /** The file name, as reports name it. */
  name: string;
  path: string;
  history: History;
}

/** Reads history files; unreadable ones are returned apart, each with why. */
export function readHistoryFiles(paths: string[]): { files: HistoryFile[]; unreadable: { name: string; message: string }[] } {
  const files: HistoryFile[] = [];
  const unreadable: { name: string; message: string }[] = [];
  for (const path of paths) {
    const name = basename(path);
    try {
      files.push({ name, path, history: readHistoryFile(path) });
    } catch (err) {
      unreadable.push({ name, message: (err as Error).message });
    }
  }
  return { files, unreadable };
}

/** Every `*.json` file of a directory (not recursive), sorted. */
export function historyFilesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(dir, f));
}

/** Replay targets for history files, with the workflow ids their parents (among them) gave them. */
export function targetsOf(files: HistoryFile[]): ReplayTarget[] {
  const parents = byFirstRunId(files.map((f) => f.history));
  return files.map((f) => ({ name: f.name, history: f.history, workflowId: workflowIdOf(f.history, `replay-${f.name.replace(/\.json$/, '')}`, parents) }));
}

/** The histories among `files` of children started by `parent`, by their workflow ids. */
export function childrenOf(parent: History, files: HistoryFile[]): Map<string, History> {
  const runId = startOf(parent).firstRunId;
  const out = new Map<string, History>();
  const parents = new Map([[runId, parent]]);
  for (const f of files) {
    const p = startOf(f.history).parent;
    if (p && p.runId === runId) out.set(workflowIdOf(f.history, f.name, parents), f.history);
  }
  return out;
}

/** The Temporal runtime for replay commands: only errors are logged (Core warns on every failed replay task). */
export function installQuietRuntime(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });
  } catch {
    // already installed by this process
  }
}
