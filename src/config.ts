/**
 * Loads vigil's configuration: an optional YAML file (--config or $VIGIL_CONFIG)
 * validated with zod, then the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * VIGIL_TASK_QUEUE, VIGIL_DATA_DIR, VIGIL_INGEST_TOKENS, VIGIL_INGEST_HMAC_SECRETS, comma-separated).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BASELINE_CAPABILITIES, CAPABILITY_TOOLS, type Capability } from './schemas/capabilities.js';
import { VigilConfig } from './schemas/config.js';

/** The installed package's root (config/, runbooks/ ship there). */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_POLICY_FILE = join(PACKAGE_ROOT, 'config', 'policy.dev.yaml');
export const DEFAULT_RUNBOOKS_DIR = join(PACKAGE_ROOT, 'runbooks');

/** Thrown for a configuration file that is missing or invalid. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {}): VigilConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env['VIGIL_CONFIG'];
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`);
    }
  }
  const merged = { ...raw, ...(opts.overrides ?? {}) } as Record<string, unknown>;
  const temporal = { ...((merged['temporal'] as object | undefined) ?? {}) } as Record<string, unknown>;
  if (env['TEMPORAL_ADDRESS']) temporal['address'] = env['TEMPORAL_ADDRESS'];
  if (env['TEMPORAL_NAMESPACE']) temporal['namespace'] = env['TEMPORAL_NAMESPACE'];
  if (env['VIGIL_TASK_QUEUE']) temporal['taskQueue'] = env['VIGIL_TASK_QUEUE'];
  merged['temporal'] = temporal;
  if (env['VIGIL_DATA_DIR']) merged['dataDir'] = env['VIGIL_DATA_DIR'];
  const ingest = { ...((merged['ingest'] as object | undefined) ?? {}) } as Record<string, unknown>;
  if (env['VIGIL_INGEST_TOKENS']) ingest['bearerTokens'] = env['VIGIL_INGEST_TOKENS'].split(',').filter(Boolean);
  if (env['VIGIL_INGEST_HMAC_SECRETS']) ingest['hmacSecrets'] = env['VIGIL_INGEST_HMAC_SECRETS'].split(',').filter(Boolean);
  merged['ingest'] = ingest;
  const parsed = VigilConfig.safeParse(merged);
  if (!parsed.success) throw new ConfigError(`invalid configuration${file ? ` in ${file}` : ''}:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * Binds every capability to the tool of the same purpose on one vigil-compatible MCP
 * server; the optional fault-free baselines only with `baselines` (the simulator has none).
 */
export function bindAllCapabilities(server: string, options: { baselines?: boolean } = {}): VigilConfig['tools']['capabilities'] {
  return Object.fromEntries(
    Object.entries(CAPABILITY_TOOLS)
      .filter(([capability]) => options.baselines === true || !BASELINE_CAPABILITIES.includes(capability as Capability))
      .map(([capability, tool]) => [capability, { server, tool, argumentMap: {} }]),
  );
}
