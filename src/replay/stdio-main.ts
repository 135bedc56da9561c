/**
 * Entry point: one recorded incident as an MCP server on stdio.
 *   node --import tsx src/replay/stdio-main.ts --case <dataset>/cases/<id> [--baseline before-window|as-recorded|off]
 * Logs go to stderr. A directory that is not a case bundle exits 2 with one line saying why.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { ReplayError } from './errors.js';
import { BaselinePlacement, ReplayModel } from './replay-model.js';
import { serveReplayStdio } from './stdio.js';

const usage = 'usage: stdio-main.ts --case <case-dir> [--baseline before-window|as-recorded|off]';
let values: { case?: string | undefined; baseline?: string | undefined };
try {
  ({ values } = parseArgs({ options: { case: { type: 'string' }, baseline: { type: 'string' } }, strict: true }));
} catch (err) {
  process.stderr.write(`vigil replay: ${(err as Error).message}\n${usage}\n`);
  process.exit(2);
}
const baseline = BaselinePlacement.safeParse(values.baseline ?? 'before-window');
if (!values.case || !baseline.success) {
  process.stderr.write(`vigil replay: ${values.case ? `--baseline must be one of ${BaselinePlacement.options.join(', ')}` : '--case <case-dir> is required'}\n${usage}\n`);
  process.exit(2);
}
const logger = createLogger({ name: 'vigil-replay', level: process.env['VIGIL_LOG_LEVEL'] ?? 'warn' });
let model: ReplayModel;
try {
  model = await ReplayModel.open(values.case, { baseline: baseline.data });
} catch (err) {
  if (!(err instanceof ReplayError)) throw err;
  process.stderr.write(`vigil replay: ${err.message}\n`);
  process.exit(2);
}
await serveReplayStdio(model, { logger });
