/**
 * Finds (and if needed builds) the Temporal CLI that runs the embedded dev server.
 *
 * Order: $VIGIL_TEMPORAL_CLI, `temporal` on PATH, the cache outside the repo
 * (~/.cache/vigil/temporal-v1.5.1/temporal, or $VIGIL_CACHE_DIR), then a build with
 * `go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into that cache. v1.5.1 is
 * pinned: later releases carry replace directives that `go install` refuses. Without Go
 * the caller may fall back to the SDK's own download (needs internet).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** Thrown when no CLI exists, Go is absent and no download is allowed. */
export class TemporalCliUnavailableError extends Error {
  override readonly name = 'TemporalCliUnavailableError';
}

export type TemporalCliSource = 'env' | 'path' | 'cache' | 'built' | 'sdk-download';

export interface TemporalCliLocation {
  /** Absolute path of the executable; undefined when the SDK must download it. */
  path: string | undefined;
  source: TemporalCliSource;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['VIGIL_CACHE_DIR'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'vigil');
  return join(base, `temporal-${TEMPORAL_CLI_VERSION}`);
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function goBinary(env: NodeJS.ProcessEnv): string | undefined {
  return onPath('go', env) ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
}

/** Where the CLI is, without building anything. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): TemporalCliLocation | undefined {
  const fromEnv = env['VIGIL_TEMPORAL_CLI'];
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new TemporalCliUnavailableError(`VIGIL_TEMPORAL_CLI=${fromEnv} is not an executable file.`);
    return { path: fromEnv, source: 'env' };
  }
  const found = onPath('temporal', env);
  if (found) return { path: found, source: 'path' };
  const cached = join(cacheDir(env), 'temporal');
  if (isExecutable(cached)) return { path: cached, source: 'cache' };
  return undefined;
}

/**
 * Finds the CLI, building it with Go when absent. With neither a CLI nor Go, returns the
 * SDK-download fallback when `allowDownload`, else throws one sentence saying what to install.
 */
export function ensureTemporalCli(
  opts: {
    env?: NodeJS.ProcessEnv;
    allowDownload?: boolean;
    log?: (line: string) => void;
    /** The Go binary; null = none. @default found on PATH or /usr/local/go/bin/go */
    go?: string | null;
  } = {},
): TemporalCliLocation {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const found = findTemporalCli(env);
  if (found) return found;

  const go = opts.go === undefined ? goBinary(env) : opts.go;
  const dir = cacheDir(env);
  if (go) {
    mkdirSync(dir, { recursive: true });
    log(`vigil: building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${dir} (once; takes a few minutes)...`);
    const result = spawnSync(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
      env: { ...env, GOBIN: dir, GOFLAGS: env['GOFLAGS'] ?? '-trimpath' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const built = join(dir, 'temporal');
    if (result.status === 0 && existsSync(built)) return { path: built, source: 'built' };
    throw new TemporalCliUnavailableError(
      `Building the Temporal CLI with "go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}" failed (exit ${result.status}); install the Temporal CLI and set VIGIL_TEMPORAL_CLI to its path.`,
    );
  }
  if (opts.allowDownload ?? true) return { path: undefined, source: 'sdk-download' };
  throw new TemporalCliUnavailableError(
    'No Temporal CLI found and Go is not installed: install Go 1.22+ (vigil then builds the CLI) or the Temporal CLI (set VIGIL_TEMPORAL_CLI to it).',
  );
}
