/**
 * `npm test`: type-check and lint, then start ONE Temporal dev server (the CLI found or
 * built by src/temporal/temporal-cli.ts), bundle the workflow code once, and run every
 * test file with node's test runner against that server.
 * Extra arguments select test files: `npm test -- test/simulator.test.ts`; node's own test
 * flags pass through: `npm test -- test/aggregation.test.ts --test-name-pattern=storm`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startDevServer } from '../src/temporal/dev-server.js';
import { installTemporalRuntime } from '../src/temporal/runtime.js';
import { WORKFLOWS_PATH } from '../src/worker/create-worker.js';

function step(name: string, cmd: string, args: string[]): void {
  process.stdout.write(`\n# ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) {
    process.stdout.write(`# ${name} failed\n`);
    process.exit(r.status ?? 1);
  }
}

// `npm test -- test/x.test.ts --test-name-pattern='storm'`: node's test flags pass through.
const selected = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const testFlags = process.argv.slice(2).filter((a) => a.startsWith('--'));
if (selected.length === 0 && process.env['VIGIL_SKIP_STATIC'] !== '1') {
  step('typecheck', 'npx', ['--no-install', 'tsc', '--noEmit', '-p', '.']);
  step('lint', 'npx', ['--no-install', 'eslint', '.']);
}

const files = selected.length > 0 ? selected : readdirSync('test').filter((f) => f.endsWith('.test.ts')).sort().map((f) => join('test', f));

installTemporalRuntime();
process.stdout.write('\n# starting the Temporal dev server\n');
const server = await startDevServer({ log: (l) => process.stdout.write(`${l}\n`) });
process.stdout.write(`# Temporal dev server at ${server.address} (CLI: ${server.cli.source} ${server.cli.path ?? ''})\n`);
const work = mkdtempSync(join(tmpdir(), 'vigil-test-'));
const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: undefined });
const bundlePath = join(work, 'workflow-bundle.js');
writeFileSync(bundlePath, bundle.code);

const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-timeout=600000', '--test-force-exit', ...testFlags, ...files], {
  stdio: 'inherit',
  env: {
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: server.namespace,
    VIGIL_TEST_WORKFLOW_BUNDLE: bundlePath,
    VIGIL_TEST_TMP: work,
  },
});
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));
await server.stop();
process.exit(code);
