/**
 * Entry point: the simulator as an MCP server on stdio.
 *   node --import tsx src/simulator/stdio-main.ts [--seed 42] [--inject bad-release:payment ...]
 * Logs go to stderr.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../logger.js';
import { SimulatorModel } from './model.js';
import { serveSimulatorStdio } from './stdio.js';

const { values } = parseArgs({
  options: { seed: { type: 'string' }, inject: { type: 'string', multiple: true } },
  strict: true,
});
const logger = createLogger({ name: 'vigil-simulator' });
const model = new SimulatorModel({ seed: values.seed ?? process.env['VIGIL_SIM_SEED'] ?? 42 });
for (const spec of values.inject ?? []) {
  const [kind, service] = spec.split(':');
  try {
    model.inject({ kind: kind as never, service: service ?? '' });
  } catch (err) {
    logger.fatal({ err, spec }, 'cannot inject fault (use --inject <kind>:<service>)');
    process.exit(2);
  }
}
await serveSimulatorStdio(model, { logger });
