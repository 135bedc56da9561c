/**
 * The Temporal server an evaluation runs on when none is given: the Temporal CLI's dev
 * server, in memory, headless, on a free port. Started here as a child process with
 * its output captured (the SDK's TestWorkflowEnvironment lets the CLI print its banner
 * on our stdout, which would corrupt `vigil eval --json`), so its pid is known for the
 * memory report. Without a local CLI (it would have to be downloaded) it falls back to
 * src/temporal/dev-server.ts.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../temporal/dev-server.js';
import { ensureTemporalCli } from '../temporal/temporal-cli.js';

export interface EmbeddedTemporal {
  address: string;
  /** The server process, when started here (for its memory); undefined for the SDK fallback. */
  pid: number | undefined;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts an in-memory dev server; resolves once it answers gRPC. */
export async function startEmbeddedTemporal(opts: { namespace?: string; startTimeoutMs?: number } = {}): Promise<EmbeddedTemporal> {
  const namespace = opts.namespace ?? 'default';
  const cli = ensureTemporalCli();
  if (!cli.path) {
    const dev = await startDevServer({ namespace });
    return { address: dev.address, pid: undefined, stop: () => dev.stop() };
  }
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  // The arguments the SDK's TestWorkflowEnvironment passes, without the UI.
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, '--log-format', 'pretty', '--log-level', 'error'];
  for (const v of ['frontend.enableServerVersionCheck=false', 'frontend.enableUpdateWorkflowExecution=true', 'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true']) {
    args.push('--dynamic-config-value', v);
  }
  const child = spawn(cli.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  // Never leave the server behind, whatever ends this process (process.exit on a signal included).
  const onExit = () => {
    if (!gone) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    if (gone) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (gone) throw new Error(`the Temporal dev server (${cli.path}) exited at start: ${output.trim().slice(-500)}`);
    try {
      const c = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await c.workflowService.describeNamespace({ namespace });
        return { address, pid: child.pid, stop };
      } finally {
        await c.close();
      }
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`the Temporal dev server did not answer on ${address} within ${Math.round((opts.startTimeoutMs ?? 60_000) / 1000)} s`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
