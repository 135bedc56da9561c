/**
 * What the CLI commands share: usage text, errors, and how a command finds the
 * Temporal server and the incident workflows (a running `vigil dev` or the environment).
 */
import { resolve } from 'node:path';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../config.js';
import { readDevEndpoints, type DevEndpoints } from '../dev/dev-endpoints.js';
import type { VigilConfig } from '../schemas/config.js';
import type { IncidentStatus } from '../schemas/incident.js';
import { statusQuery } from '../../workflows/messages.js';

export const USAGE = `usage: vigil <command> [flags]

  dev        start Temporal (embedded, .vigil/temporal.db, Web UI), a worker, the
             alert ingest server (127.0.0.1:8787) and the built-in simulator
  demo       run a whole incident on the embedded stack and check the outcome
  worker     run a worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE
  ingest     run the alert ingest HTTP server against TEMPORAL_ADDRESS
  simulator  run the built-in simulator alone (--stdio, or Streamable HTTP --port)
  simulate   --fault <kind> --service <name> [--severity P0..P4] [--fail-step N] [--json]
             inject a fault into the running simulator and post its alert; --list
  incidents  list | show <id> | alerts <id>   [--json]
             show lists the first 10 alerts and the counts; alerts lists every alert
  approve    <id> --as <who> [--reason ...] [--json]
  reject     <id> --as <who> [--reason ...] [--json]
  override   <id> --root-cause <service> [--indicator cpu|memory|latency|errors|db_connections|change:deploy] --as <who>
  rediagnose <id> --as <who>             ask for more diagnosis (new evidence, new plan)
  takeover   <id> --as <who>             a person takes over: no further automatic steps
             decisions accept --token <signed approver token> (or $VIGIL_APPROVER_TOKEN)
  pause      [--service <name>] --as <who> [--reason ...]   kill switch: stop all autonomous action
  resume     [--service <name>] --as <who>
  token      --as <who> [--ttl seconds]  sign an approver token with the dev identity
  close      <id> --root-cause <service> --as <who> [--helpful|--not-helpful]
             label a closed incident (its knowledge-base entry) with the confirmed root cause
  slis       [--window 30d] [--json]   diagnosis accuracy against the close labels: top-1/3/5,
             helpful rate, labelled/unlabelled, calibration at the confidence threshold
  report     <id> [--format md|json]
  audit      verify [<path> | --pg] [--json] | export <incident-id> [--out file] [--pg]
  eval       <dataset-dir> [--out results.json] [--json] [--concurrency 4] [--limit N] [--temporal-address a]
             [--baseline separate|before-window|as-recorded|off]: separate (default) serves baseline/
             through metrics.baseline / traces.baseline
  replay     <workflow-id | history.json | dir> [--json] [--bundle workflow-bundle.js]
             replay against the current workflow code (determinism errors with the event) and
             print the decision timeline; --what-if [--policy file] [--runbooks dir] re-runs the
             recorded diagnosis with the current ranking, reasoner, planner and that policy
  temporal-cli  print the Temporal CLI vigil uses (building it with Go if needed)

common flags: --data-dir <dir> (default .vigil), --config <vigil.yaml>
`;

/** A failure the user can act on: printed as one line, exit code 1 (or 2 with usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly showUsage = false,
  ) {
    super(message);
  }
}

export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function int(v: string | boolean | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n)) throw new CliError(`--${name} must be an integer, got "${String(v)}"`, 2, true);
  return n;
}

export function dataDirOf(v: Record<string, string | boolean | undefined>): string {
  return resolve(str(v['data-dir']) ?? process.env['VIGIL_DATA_DIR'] ?? '.vigil');
}

/** The configuration, with the endpoints of a running `vigil dev` when there is one. */
export function resolveConfig(v: Record<string, string | boolean | undefined>): { config: VigilConfig; dev: DevEndpoints | undefined } {
  const dataDir = dataDirOf(v);
  const dev = readDevEndpoints(dataDir);
  const env = { ...process.env };
  if (dev && !env['TEMPORAL_ADDRESS']) {
    env['TEMPORAL_ADDRESS'] = dev.temporalAddress;
    env['TEMPORAL_NAMESPACE'] = dev.namespace;
  }
  const file = str(v['config']);
  const config = loadConfig({ ...(file ? { file } : {}), env, overrides: { dataDir } });
  return { config, dev };
}

export async function connectClient(config: VigilConfig): Promise<{ client: Client; connection: Connection }> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '5s' });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${config.temporal.address} (start \`vigil dev\` or set TEMPORAL_ADDRESS): ${(err as Error).message}`);
  }
  return { client: new Client({ connection, namespace: config.temporal.namespace }), connection };
}

/** The status of one incident, or a clear error when it does not exist. */
export async function incidentStatus(client: Client, id: string): Promise<IncidentStatus> {
  try {
    return await client.workflow.getHandle(id).query(statusQuery);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message)) throw new CliError(`unknown incident "${id}"`);
    throw err;
  }
}

export function print(value: unknown, asJson: boolean, text: () => string): void {
  process.stdout.write(asJson ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
