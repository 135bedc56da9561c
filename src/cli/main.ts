/**
 * The `vigil` command: parses the command line and dispatches to one module per command.
 * Unknown commands and bad flags print usage and exit 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError, USAGE } from './cli-common.js';

type Options = NonNullable<ParseArgsConfig['options']>;

interface Command {
  options: Options;
  allowPositionals?: boolean;
  run(values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<number>;
}

const json = { json: { type: 'boolean' } } as const;
const common = { 'data-dir': { type: 'string' }, config: { type: 'string' } } as const;

const commands: Record<string, Command> = {
  dev: {
    options: { ...common, seed: { type: 'string' }, 'ingest-port': { type: 'string' }, 'temporal-port': { type: 'string' }, 'ui-port': { type: 'string' }, 'simulator-port': { type: 'string' } },
    run: async (v) => (await import('./cmd-dev.js')).runDev(v),
  },
  demo: {
    options: { ...common, fault: { type: 'string' }, service: { type: 'string' }, seed: { type: 'string' } },
    run: async (v) => (await import('./cmd-demo.js')).runDemo(v),
  },
  worker: { options: { ...common }, run: async (v) => (await import('./cmd-worker.js')).runWorker(v) },
  ingest: { options: { ...common, port: { type: 'string' }, host: { type: 'string' } }, run: async (v) => (await import('./cmd-ingest.js')).runIngest(v) },
  simulator: {
    options: { stdio: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' }, seed: { type: 'string' } },
    run: async (v) => (await import('./cmd-simulator.js')).runSimulator(v),
  },
  simulate: {
    options: { ...common, ...json, list: { type: 'boolean' }, fault: { type: 'string' }, service: { type: 'string' }, severity: { type: 'string' }, 'fail-step': { type: 'string' } },
    run: async (v) => (await import('./cmd-simulate.js')).runSimulate(v),
  },
  incidents: {
    options: { ...common, ...json, limit: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-incidents.js')).runIncidents(v, p),
  },
  approve: {
    options: { ...common, ...json, as: { type: 'string' }, reason: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-decide.js')).runDecide('approve', v, p),
  },
  reject: {
    options: { ...common, ...json, as: { type: 'string' }, reason: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-decide.js')).runDecide('reject', v, p),
  },
  rediagnose: {
    options: { ...common, ...json, as: { type: 'string' }, reason: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-decide.js')).runDecide('rediagnose', v, p),
  },
  takeover: {
    options: { ...common, ...json, as: { type: 'string' }, reason: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-decide.js')).runDecide('takeover', v, p),
  },
  override: {
    options: { ...common, ...json, as: { type: 'string' }, reason: { type: 'string' }, 'root-cause': { type: 'string' }, indicator: { type: 'string' }, token: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-decide.js')).runDecide('override', v, p),
  },
  pause: {
    options: { ...common, ...json, as: { type: 'string' }, service: { type: 'string' }, reason: { type: 'string' } },
    run: async (v) => (await import('./cmd-kill-switch.js')).runKillSwitch('pause', v),
  },
  resume: {
    options: { ...common, ...json, as: { type: 'string' }, service: { type: 'string' }, reason: { type: 'string' } },
    run: async (v) => (await import('./cmd-kill-switch.js')).runKillSwitch('resume', v),
  },
  token: { options: { as: { type: 'string' }, ttl: { type: 'string' } }, run: async (v) => (await import('./cmd-token.js')).runToken(v) },
  close: {
    options: { ...common, ...json, as: { type: 'string' }, 'root-cause': { type: 'string' }, helpful: { type: 'boolean' }, 'not-helpful': { type: 'boolean' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-close.js')).runClose(v, p),
  },
  slis: { options: { ...common, ...json, window: { type: 'string' } }, run: async (v) => (await import('./cmd-slis.js')).runSlis(v) },
  report: {
    options: { ...common, format: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-report.js')).runReport(v, p),
  },
  audit: {
    options: { ...common, ...json, pg: { type: 'boolean' }, file: { type: 'string' }, out: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-audit.js')).runAudit(v, p),
  },
  eval: { options: { ...json, out: { type: 'string' }, concurrency: { type: 'string' }, limit: { type: 'string' }, 'temporal-address': { type: 'string' }, baseline: { type: 'string' }, keep: { type: 'string' } }, allowPositionals: true, run: async (v, p) => (await import('./cmd-eval.js')).runEvalCommand(v, p) },
  replay: {
    options: { ...common, ...json, 'what-if': { type: 'boolean' }, policy: { type: 'string' }, runbooks: { type: 'string' }, bundle: { type: 'string' } },
    allowPositionals: true,
    run: async (v, p) => (await import('./cmd-replay.js')).runReplay(v, p),
  },
  'temporal-cli': { options: {}, run: async () => (await import('./cmd-temporal-cli.js')).runTemporalCli() },
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`vigil: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: command.options, allowPositionals: command.allowPositionals ?? false, strict: true });
  } catch (err) {
    process.stderr.write(`vigil ${name}: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (['dev', 'demo'].includes(name)) (await import('../temporal/runtime.js')).installTemporalRuntime();
  try {
    return await command.run(parsed.values as Record<string, string | boolean | undefined>, parsed.positionals);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`vigil ${name}: ${err.message}\n${err.showUsage ? `\n${USAGE}` : ''}`);
      return err.exitCode;
    }
    throw err;
  }
}
