/**
 * Starts the embedded Temporal dev server (the one `vigil dev`, `npm run demo` and the
 * tests use) through the SDK's TestWorkflowEnvironment, pointed at the CLI found or
 * built by temporal-cli.ts. A `dbFilename` makes incidents survive a restart.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli, type TemporalCliLocation } from './temporal-cli.js';

export interface DevServerOptions {
  /** SQLite file; omitted = in memory (tests). */
  dbFilename?: string;
  ip?: string;
  /** gRPC port; omitted = a free port. */
  port?: number;
  ui?: boolean;
  uiPort?: number;
  namespace?: string;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  namespace: string;
  uiUrl: string | undefined;
  cli: TemporalCliLocation;
  env: TestWorkflowEnvironment;
  stop(): Promise<void>;
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = ensureTemporalCli(opts.log ? { log: opts.log } : {});
  const namespace = opts.namespace ?? 'default';
  const ip = opts.ip ?? '127.0.0.1';
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli.path ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      ip,
      namespace,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.dbFilename ? { dbFilename: opts.dbFilename } : {}),
      ...(opts.ui ? { ui: true, ...(opts.uiPort ? { uiPort: opts.uiPort } : {}) } : {}),
      log: { format: 'pretty', level: 'error' },
    },
  });
  const address = env.address;
  let uiUrl: string | undefined;
  if (opts.ui) {
    const port = Number(address.split(':').pop());
    uiUrl = `http://${ip}:${opts.uiPort ?? port + 1000}`;
  }
  return {
    address,
    namespace,
    uiUrl,
    cli,
    env,
    stop: () => env.teardown(),
  };
}
