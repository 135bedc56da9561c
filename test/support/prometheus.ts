/**
 * Real Prometheus and Alertmanager for tests: Debian's binaries (`.ci/run` installs them)
 * started on free loopback ports with temporary data directories, stopped by the test's
 * after(). Also: backfilling history with `promtool tsdb create-blocks-from openmetrics`
 * and a bounded poll helper.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './temporal.js';

/** Absolute path of a Debian binary, or an error that says how to get it. */
export function requireBinary(name: 'prometheus' | 'promtool' | 'prometheus-alertmanager'): string {
  const path = `/usr/bin/${name}`;
  if (existsSync(path)) return path;
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = which.stdout.trim();
  if (which.status === 0 && found) return found;
  const pkg = name === 'prometheus-alertmanager' ? 'prometheus-alertmanager' : 'prometheus';
  throw new Error(`${name} is not installed: \`.ci/run\` installs it (apt-get install ${pkg})`);
}

/** A loopback port that was free a moment ago (listen on 0, close, reuse). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = lastError ? ` (last error: ${(lastError as Error).message})` : '';
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
}

/** A child process whose output is kept (the tail) for failure messages. */
export interface Daemon {
  url: string;
  port: number;
  dataDir: string;
  /** The last lines the process printed. */
  output(): string;
  stop(): Promise<void>;
}

function startDaemon(name: string, cmd: string, args: string[], port: number, dataDir: string, readyPath: string): Promise<Daemon> {
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out = (out + b.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const daemon: Daemon = {
    url,
    port,
    dataDir,
    output: () => out,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(killed);
    },
  };
  return pollUntil(
    `${name} to be ready at ${url}${readyPath}`,
    async () => {
      if (exited) throw new Error(`${name} exited: ${out.slice(-2000)}`);
      const res = await fetch(`${url}${readyPath}`);
      return res.ok ? daemon : undefined;
    },
    30_000,
  ).catch(async (err: unknown) => {
    await daemon.stop();
    throw new Error(`${(err as Error).message}\n${name} output:\n${out.slice(-2000)}`);
  });
}

/**
 * Starts Prometheus on a free loopback port. `storageDir` may hold backfilled blocks;
 * `rules` (a rule file's YAML) is written beside the config, and `RULES_FILE` in `config`
 * replaced by its path.
 */
export async function startPrometheus(opts: { config: string; rules?: string; storageDir?: string; port?: number }): Promise<Daemon> {
  const bin = requireBinary('prometheus');
  const dir = tempDir('prometheus');
  const dataDir = opts.storageDir ?? join(dir, 'data');
  if (opts.rules !== undefined) writeFileSync(join(dir, 'rules.yml'), opts.rules);
  writeFileSync(join(dir, 'prometheus.yml'), opts.config.replaceAll('RULES_FILE', join(dir, 'rules.yml')));
  const port = opts.port ?? (await freePort());
  return startDaemon(
    'prometheus',
    bin,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    port,
    dataDir,
    '/-/ready',
  );
}

/** Starts Alertmanager on a free loopback port, clustering off. */
export async function startAlertmanager(opts: { config: string }): Promise<Daemon> {
  const bin = requireBinary('prometheus-alertmanager');
  const dir = tempDir('alertmanager');
  writeFileSync(join(dir, 'alertmanager.yml'), opts.config);
  const port = await freePort();
  return startDaemon(
    'alertmanager',
    bin,
    [
      `--config.file=${join(dir, 'alertmanager.yml')}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    port,
    join(dir, 'data'),
    '/-/ready',
  );
}

/** Writes TSDB blocks from an OpenMetrics file into `outDir` (promtool backfill). */
export function backfillOpenMetrics(openMetrics: string, outDir: string): void {
  const promtool = requireBinary('promtool');
  const file = join(tempDir('openmetrics'), 'history.om');
  writeFileSync(file, openMetrics);
  const r = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', file, outDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`promtool backfill failed (${r.status}): ${r.stderr || r.stdout}`);
}
