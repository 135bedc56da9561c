/**
 * `vigil eval <dataset-dir>`: replays every case of a dataset through the real incident
 * workflow (embedded Temporal unless --temporal-address / TEMPORAL_ADDRESS), prints
 * AC@1/3/5, Avg@5, speed, memory and confidence calibration beside the dataset's
 * published results, and with --out writes results.json for ../shared/datasets/score.py.
 * Exit 0 when every case ran, 1 when some failed or the folder is not a dataset.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { NotADatasetError } from '../eval/dataset.js';
import { EvalBaseline, EvalSetupError, runEval, type EvalProgress } from '../eval/run-eval.js';
import { formatSummary } from '../eval/summary-text.js';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { CliError, int, str } from './cli-common.js';

function progressLine(p: EvalProgress): string {
  const perMin = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 60_000 : 0;
  return `vigil eval: ${p.done}/${p.total} cases${p.failed ? ` (${p.failed} failed)` : ''}, ${perMin.toFixed(1)} cases/min, last ${p.caseId} ${p.ok ? 'ok' : 'FAILED'}`;
}

export async function runEvalCommand(v: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number> {
  const [datasetDir, ...extra] = positionals;
  if (!datasetDir || extra.length > 0) throw new CliError('eval takes exactly one <dataset-dir>', 2, true);
  const concurrency = int(v['concurrency'], 'concurrency') ?? 4;
  if (concurrency < 1) throw new CliError('--concurrency must be at least 1', 2, true);
  const limit = int(v['limit'], 'limit');
  if (limit !== undefined && limit < 1) throw new CliError('--limit must be at least 1', 2, true);
  const baseline = EvalBaseline.safeParse(str(v['baseline']) ?? 'separate');
  if (!baseline.success) throw new CliError(`--baseline must be one of ${EvalBaseline.options.join(', ')}`, 2, true);
  const out = str(v['out']);
  if (out && !existsSync(dirname(resolve(out)))) throw new CliError(`cannot write ${out}: its folder does not exist`);
  const temporalAddress = str(v['temporal-address']) ?? process.env['TEMPORAL_ADDRESS'];
  const keepDir = str(v['keep']);

  // Quiet by default: the summary is the output. Worker logs (pino) and the Temporal SDK's
  // own logs go to stderr, and only errors unless VIGIL_LOG_LEVEL / VIGIL_TEMPORAL_LOG_LEVEL
  // say otherwise. The SDK core's (Rust) logs are forwarded too: by default they are
  // written to stdout, which would corrupt --json.
  process.env['VIGIL_LOG_LEVEL'] ??= 'error';
  const level = (process.env['VIGIL_TEMPORAL_LOG_LEVEL'] as LogLevel | undefined) ?? 'ERROR';
  Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { forward: {}, filter: { core: level, other: level } } } });
  // Ctrl-C or a kill: exit through process.exit so the embedded Temporal server is stopped too.
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  const tty = process.stderr.isTTY === true;
  let run;
  try {
    run = await runEval({
      datasetDir,
      concurrency,
      baseline: baseline.data,
      ...(limit !== undefined ? { limit } : {}),
      ...(temporalAddress ? { temporalAddress, namespace: process.env['TEMPORAL_NAMESPACE'] ?? 'default' } : {}),
      ...(keepDir ? { keepDir: resolve(keepDir) } : {}),
      ...(tty
        ? {
            onProgress: (p: EvalProgress) => process.stderr.write(`\r\x1b[2K${progressLine(p)}`),
            onStatus: (note: string) => process.stderr.write(`\r\x1b[2Kvigil eval: ${note}...`),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof NotADatasetError || err instanceof EvalSetupError) throw new CliError(err.message);
    throw err;
  } finally {
    if (tty) process.stderr.write('\r\x1b[2K');
  }
  if (out) await writeFile(out, `${JSON.stringify(run.results, null, 2)}\n`);
  process.stdout.write(v['json'] === true ? `${JSON.stringify(run.summary, null, 2)}\n` : formatSummary(run.summary));
  if (run.summary.casesFailed > 0) {
    process.stderr.write(`vigil eval: ${run.summary.casesFailed} of ${run.summary.casesRun} cases failed (listed in the summary)\n`);
    return 1;
  }
  return 0;
}
