/**
 * vigil's process configuration (worker, ingest, CLI): where Temporal is, where data
 * lives, which MCP servers exist and which of their tools serve which capability.
 * Loaded from YAML (`--config` or $VIGIL_CONFIG) and the environment by src/config.ts.
 */
import { z } from 'zod';
import { Capability } from './capabilities.js';
import { IncidentSettings } from './incident.js';

export const McpServerConfig = z.discriminatedUnion('transport', [
  z.object({
    name: z.string().min(1),
    transport: z.literal('http'),
    url: z.string().url(),
    headers: z.record(z.string(), z.string()).default({}).describe('e.g. Authorization; values may be ${ENV_VAR}'),
  }),
  z.object({
    name: z.string().min(1),
    transport: z.literal('stdio'),
    command: z.string().min(1),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
  }),
]);
export type McpServerConfig = z.infer<typeof McpServerConfig>;

export const CapabilityBinding = z.object({
  server: z.string().min(1),
  tool: z.string().min(1),
  /** Rename arguments: capability argument name -> the tool's argument name. */
  argumentMap: z.record(z.string(), z.string()).default({}),
});
export type CapabilityBinding = z.infer<typeof CapabilityBinding>;

export const ToolRegistryConfig = z.object({
  servers: z.array(McpServerConfig).default([]),
  capabilities: z.partialRecord(Capability, CapabilityBinding).default({}),
});
export type ToolRegistryConfig = z.infer<typeof ToolRegistryConfig>;

export const VigilConfig = z.object({
  dataDir: z.string().default('.vigil'),
  policyFile: z.string().optional().describe('policy YAML; default: the dev policy shipped in config/'),
  runbooksDir: z.string().optional().describe('Markdown runbooks; default: runbooks/ shipped with vigil'),
  temporal: z
    .object({
      address: z.string().default('127.0.0.1:7233'),
      namespace: z.string().default('default'),
      taskQueue: z.string().default('vigil-incidents'),
      uiUrl: z.string().optional(),
    })
    .default({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'vigil-incidents' }),
  ingest: z
    .object({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8787),
      bearerTokens: z.array(z.string().min(1)).default([]),
      hmacSecrets: z.array(z.string().min(1)).default([]),
      maxBodyBytes: z.number().int().positive().default(1024 * 1024),
      groupBy: z.array(z.string()).optional(),
    })
    .default({ host: '127.0.0.1', port: 8787, bearerTokens: [], hmacSecrets: [], maxBodyBytes: 1024 * 1024 }),
  tools: ToolRegistryConfig.default({ servers: [], capabilities: {} }),
  incident: IncidentSettings.partial().default({}),
});
export type VigilConfig = z.infer<typeof VigilConfig>;
