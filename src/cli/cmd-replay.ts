/**
 * `vigil replay <workflow-id | history.json | dir>`: replays incident histories against
 * the current workflow code and prints the decision timeline.
 *
 * - a workflow id: the history (and its children's) from the Temporal server;
 * - a file: a `temporal workflow show --output json` history, with its children's files
 *   from the same directory when present;
 * - a directory: every *.json history in it, replayed and summarized (no timelines).
 *
 * Exit 1 when a history does not replay (a determinism error, with the event), 0 otherwise.
 * `--what-if [--policy file] [--runbooks dir]` re-runs the recorded diagnosis with the
 * current ranking, reasoner and planner (and that policy) instead, and shows what differs.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DEFAULT_RUNBOOKS_DIR } from '../config.js';
import { loadRunbooks } from '../knowledge/runbooks.js';
import { decisionTimeline, renderTimeline } from '../replay-history/decision-timeline.js';
import type { History } from '../replay-history/history-json.js';
import {
  childrenOf,
  historyFilesIn,
  installQuietRuntime,
  loadWorkflowCode,
  readHistoryFiles,
  replayHistories,
  targetsOf,
  type ReplayOutcome,
  type ReplayTarget,
} from '../replay-history/replay-histories.js';
import { recordedServiceStates, renderWhatIf, whatIf, NothingToReplayError } from '../replay-history/what-if.js';
import { Policy } from '../schemas/policy.js';
import { WORKFLOWS_PATH } from '../worker/create-worker.js';
import { CliError, connectClient, resolveConfig, str } from './cli-common.js';

type Values = Record<string, string | boolean | undefined>;

interface Loaded {
  /** The incident (or other) history the command is about. */
  main: ReplayTarget;
  /** Its children's histories, by workflow id. */
  children: Map<string, History>;
}

export async function runReplay(v: Values, positionals: string[]): Promise<number> {
  const [target, ...extra] = positionals;
  if (!target || extra.length > 0) throw new CliError('replay needs one workflow id, history file or directory', 2, true);
  if (!v['what-if'] && (v['policy'] !== undefined || v['runbooks'] !== undefined)) throw new CliError('--policy and --runbooks go with --what-if', 2, true);
  const asJson = v['json'] === true;
  installQuietRuntime();

  if (existsSync(target) && statSync(target).isDirectory()) {
    if (v['what-if']) throw new CliError('--what-if takes one incident (a workflow id or a history file), not a directory', 2, true);
    return replayDirectory(target, v, asJson);
  }
  const loaded = existsSync(target) ? loadFile(target) : await fetchFromServer(target, v);

  if (v['what-if']) {
    const policyFile = str(v['policy']);
    const policy = policyFile ? readPolicy(policyFile) : undefined;
    const runbooks = await loadRunbooks(str(v['runbooks']) ?? resolveConfigQuietly(v)?.runbooksDir ?? DEFAULT_RUNBOOKS_DIR);
    const remediation = [...loaded.children.entries()].find(([id]) => id.endsWith('-remediation'))?.[1];
    let result;
    try {
      result = whatIf(loaded.main.history, { ...(policy ? { policy } : {}), runbooks, serviceStates: recordedServiceStates(remediation) });
    } catch (err) {
      if (err instanceof NothingToReplayError) throw new CliError(err.message);
      throw err;
    }
    process.stdout.write(asJson ? `${JSON.stringify(result, null, 2)}\n` : `${renderWhatIf(result)}\n`);
    return 0;
  }

  const code = await workflowCode(v);
  const childTargets = [...loaded.children.entries()].map(([workflowId, history]) => ({ name: workflowId, history, workflowId }));
  const outcomes = await replayHistories(code, [loaded.main, ...childTargets]);
  const timeline = decisionTimeline(loaded.main.history, { workflowId: loaded.main.workflowId, children: loaded.children });
  if (asJson) process.stdout.write(`${JSON.stringify({ replay: outcomes, timeline }, null, 2)}\n`);
  else process.stdout.write(`${renderReplay(outcomes)}\n\n${renderTimeline(timeline)}\n`);
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

async function replayDirectory(dir: string, v: Values, asJson: boolean): Promise<number> {
  const paths = historyFilesIn(dir);
  if (paths.length === 0) throw new CliError(`no *.json history files in ${dir}`);
  const { files, unreadable } = readHistoryFiles(paths);
  const code = await workflowCode(v);
  const outcomes: ReplayOutcome[] = await replayHistories(code, targetsOf(files));
  const all = [...outcomes, ...unreadable.map((u): ReplayOutcome => ({ name: u.name, workflowId: '?', workflowType: '?', events: 0, ok: false, failure: { kind: 'replay-error', message: u.message } }))];
  const failed = all.filter((o) => !o.ok);
  if (asJson) process.stdout.write(`${JSON.stringify({ ok: all.length - failed.length, failed: failed.length, results: all }, null, 2)}\n`);
  else process.stdout.write(`${renderReplay(all)}\n${all.length - failed.length} of ${all.length} histories replay${failed.length ? `; ${failed.length} do not` : ''}\n`);
  return failed.length ? 1 : 0;
}

function loadFile(path: string): Loaded {
  const { files, unreadable } = readHistoryFiles([path]);
  const main = files[0];
  if (!main) throw new CliError(unreadable[0]?.message ?? `cannot read ${path}`);
  // Children recorded beside it (e.g. approved.remediation.json next to approved.json).
  const siblings = readHistoryFiles(historyFilesIn(dirname(path)).filter((p) => p !== path)).files;
  const [target] = targetsOf([main]);
  if (!target) throw new CliError(`cannot read ${path}`);
  return { main: target, children: childrenOf(main.history, siblings) };
}

async function fetchFromServer(workflowId: string, v: Values): Promise<Loaded> {
  const { config } = resolveConfig(v);
  const { client, connection } = await connectClient(config);
  try {
    const history = await fetchHistory(client, workflowId);
    if (!history) throw new CliError(`no workflow "${workflowId}" on ${config.temporal.address} (namespace ${config.temporal.namespace}), and no such file or directory`);
    const children = new Map<string, History>();
    for (const e of history.events ?? []) {
      const id = e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (!id || children.has(id)) continue;
      const child = await fetchHistory(client, id);
      if (child) children.set(id, child);
    }
    return { main: { name: workflowId, history, workflowId }, children };
  } finally {
    await connection.close();
  }
}

async function fetchHistory(client: Client, workflowId: string): Promise<History | undefined> {
  try {
    return await client.workflow.getHandle(workflowId).fetchHistory();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message)) return undefined;
    throw err;
  }
}

async function workflowCode(v: Values): Promise<{ code: string }> {
  const bundle = str(v['bundle']);
  if (bundle && !existsSync(bundle)) throw new CliError(`--bundle ${bundle}: no such file`, 2);
  return loadWorkflowCode(bundle ? { bundlePath: bundle } : { workflowsPath: WORKFLOWS_PATH });
}

function readPolicy(file: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CliError(`--policy ${file}: ${(err as Error).message}`);
  }
  const parsed = Policy.safeParse(raw);
  if (!parsed.success) throw new CliError(`--policy ${file}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function resolveConfigQuietly(v: Values): { runbooksDir?: string } | undefined {
  try {
    return resolveConfig(v).config;
  } catch {
    return undefined;
  }
}

/** One line per history: ok, or the event where the current code diverges and why. */
export function renderReplay(outcomes: ReplayOutcome[]): string {
  return outcomes
    .map((o) => {
      if (o.ok) return `ok      ${o.name} (${o.workflowType}, ${o.events} events)`;
      const f = o.failure;
      const at = f?.eventId !== undefined ? ` at event ${f.eventId} (${f.eventType ?? '?'})` : '';
      return `FAILED  ${o.name} (${o.workflowType})${at}: ${f?.kind === 'nondeterminism' ? 'nondeterminism: ' : ''}${f?.message ?? 'replay failed'}`;
    })
    .join('\n');
}
