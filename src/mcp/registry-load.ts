/**
 * Loads a tool registry (MCP servers and capability bindings, docs/tool-registry.md)
 * from a YAML file: either a registry on its own (`servers:` and `capabilities:` at the
 * top) or a whole vigil.yaml, whose `tools:` section is used. Validated with the same
 * zod schema as vigil.yaml's `tools:`; a relative stdio `cwd` is taken from the file's
 * folder.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ToolRegistryConfig } from '../schemas/config.js';

/** Thrown when a registry file is missing, is not YAML, or does not match the schema. */
export class ToolRegistryError extends Error {
  override readonly name = 'ToolRegistryError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses and validates a registry given as data (the YAML document, already parsed). */
export function parseToolRegistry(doc: unknown, opts: { file?: string; baseDir?: string } = {}): ToolRegistryConfig {
  const where = opts.file ?? 'tool registry';
  const root = doc !== null && typeof doc === 'object' && 'tools' in doc && !('servers' in doc) && !('capabilities' in doc) ? (doc as { tools: unknown }).tools : doc;
  const parsed = ToolRegistryConfig.safeParse(root ?? {});
  if (!parsed.success) throw new ToolRegistryError(where, `invalid tool registry in ${where}:\n${z.prettifyError(parsed.error)}`);
  const registry = parsed.data;
  if (opts.baseDir) {
    const base = opts.baseDir;
    registry.servers = registry.servers.map((s) => (s.transport === 'stdio' && s.cwd && !isAbsolute(s.cwd) ? { ...s, cwd: resolve(base, s.cwd) } : s));
  }
  return registry;
}

/** Reads a registry YAML file (a registry, or a vigil.yaml with a `tools:` section). */
export function loadToolRegistry(file: string): ToolRegistryConfig {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ToolRegistryError(file, `cannot read tool registry ${file}: ${(err as Error).message}`);
  }
  return parseToolRegistry(doc, { file, baseDir: dirname(resolve(file)) });
}
