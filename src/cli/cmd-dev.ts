/**
 * `vigil dev`: the whole stack on the embedded default (Temporal dev server on
 * <data-dir>/temporal.db with its Web UI, a worker, ingest on 127.0.0.1:8787 and the
 * simulator); prints where each listens and stops everything cleanly on Ctrl-C.
 */
import { startDevStack } from '../dev/dev-stack.js';
import { createLogger } from '../logger.js';
import { loadConfig } from '../config.js';
import { dataDirOf, int, str } from './cli-common.js';

export async function runDev(v: Record<string, string | boolean | undefined>): Promise<number> {
  const dataDir = dataDirOf(v);
  const logger = createLogger({ name: 'vigil-dev', level: process.env['VIGIL_LOG_LEVEL'] ?? 'warn' });
  const say = (l: string) => process.stdout.write(`${l}\n`);
  say(`vigil dev: starting (data in ${dataDir})`);
  const policyFile = str(v['config']) ? undefined : process.env['VIGIL_POLICY'];
  // From a vigil.yaml (--config or $VIGIL_CONFIG) the dev stack takes the alert aggregation and
  // group labels only: Temporal, tools and data stay the embedded ones.
  const file = str(v['config']) ?? process.env['VIGIL_CONFIG'];
  const fromFile = file ? loadConfig({ file, env: {} }) : undefined;
  const stack = await startDevStack({
    dataDir,
    logger,
    log: say,
    temporalPort: int(v['temporal-port'], 'temporal-port') ?? 7233,
    uiPort: int(v['ui-port'], 'ui-port') ?? 8233,
    ingestPort: int(v['ingest-port'], 'ingest-port') ?? 8787,
    simulatorPort: int(v['simulator-port'], 'simulator-port') ?? 8788,
    seed: int(v['seed'], 'seed') ?? 42,
    settings: { groupWaitSeconds: 5, metricsStepSeconds: 5 },
    ...(policyFile ? { policyFile } : {}),
    ...(fromFile?.aggregation ? { aggregation: fromFile.aggregation } : {}),
    ...(fromFile?.ingest.groupBy ? { groupBy: fromFile.ingest.groupBy } : {}),
  });
  const e = stack.endpoints;
  say(
    [
      '',
      `  Temporal        ${e.temporalAddress} (namespace ${e.namespace}, task queue ${e.taskQueue})`,
      `  Temporal UI     ${e.temporalUiUrl ?? 'off'}`,
      `  alert ingest    ${e.ingestUrl}/v1/alerts/alertmanager  (and /v1/alerts, /healthz, /readyz, /metrics)`,
      `  simulator MCP   ${e.simulatorMcpUrl}`,
      `  simulator API   ${e.simulatorControlUrl}`,
      `  data            ${e.dataDir}`,
      '',
      'try: npx --no-install vigil simulate --fault bad-release --service payment --severity P0',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  say('\nvigil dev: stopping...');
  await stack.stop();
  say('vigil dev: stopped');
  return 0;
}
