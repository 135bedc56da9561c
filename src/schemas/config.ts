/**
 * vigil's process configuration (worker, ingest, CLI): where Temporal is, where data
 * lives, which MCP servers exist and which of their tools serve which capability.
 * Loaded from YAML (`--config` or $VIGIL_CONFIG) and the environment by src/config.ts.
 */
import { z } from 'zod';
import { Capability } from './capabilities.js';
import { IncidentSettings } from './incident.js';
import { AggregationSettings } from '../aggregation/settings.js';
import { AuditConfig } from '../audit/audit-config.js';
import { ObservabilityConfig } from '../observability/config.js';
import { DEFAULT_KNOWLEDGE_CONFIG, KnowledgeConfig } from '../knowledge/knowledge-config.js';
import { parseTemplate } from '../mcp/registry-templates.js';
/** How long ingest uses a group's routing lease (ingest.routingLeaseSeconds): long enough to cover a burst, short enough that a closing incident is held only briefly. */
export const DEFAULT_ROUTING_LEASE_SECONDS = 30;

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

/** How a third-party tool's result becomes the capability's output (docs/tool-registry.md). */
export const ResultAdapter = z.discriminatedUnion('format', [
  z.object({
    format: z.literal('vigil').describe('already the capability output shape (the default when `result` is absent)'),
    path: z.string().optional().describe('dot path to the part of the result to use, e.g. `data`'),
  }),
  z.object({
    format: z.literal('prometheus-matrix').describe('Prometheus HTTP API query data: {resultType: matrix|vector, result: [...]} -> metrics.query_range output'),
    path: z.string().optional().describe('dot path to the {resultType, result} object, e.g. `data` for a whole API response'),
    serviceLabel: z.string().default('job').describe('label naming the service (fallback: the `service` argument)'),
    instanceLabel: z.string().default('instance').describe('label naming the instance (fallback: empty)'),
    metricLabel: z.string().default('__name__').describe('label naming the metric, used when no `metric` variable is set'),
  }),
]);
export type ResultAdapter = z.infer<typeof ResultAdapter>;

const TemplateString = z.string().superRefine((t, ctx) => {
  try {
    parseTemplate(t);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

export const CapabilityBinding = z.object({
  server: z.string().min(1),
  tool: z.string().min(1),
  /** Rename arguments: capability argument name -> the tool's argument name. Ignored when `arguments` is set. */
  argumentMap: z.record(z.string(), z.string()).default({}),
  variables: z
    .record(z.string(), TemplateString)
    .optional()
    .describe("extra template variables, rendered from the capability's arguments first (e.g. a label selector)"),
  arguments: z
    .record(z.string(), z.union([TemplateString, z.number(), z.boolean()]))
    .optional()
    .describe("the tool's arguments: tool argument -> template over the capability's arguments (and the fan-out entry's variables)"),
  fanOut: z
    .array(z.record(z.string(), TemplateString))
    .min(1)
    .optional()
    .describe('one tool call per entry, results concatenated; entry variables that name an argument the caller set select the entry'),
  result: ResultAdapter.optional().describe("how the tool's result becomes the capability output; absent: it already is"),
});
export type CapabilityBinding = z.infer<typeof CapabilityBinding>;

export const ToolRegistryConfig = z
  .object({
    servers: z.array(McpServerConfig).default([]),
    capabilities: z.partialRecord(Capability, CapabilityBinding).default({}),
  })
  .superRefine((registry, ctx) => {
    const names = new Set(registry.servers.map((s) => s.name));
    for (const [capability, binding] of Object.entries(registry.capabilities)) {
      if (binding && !names.has(binding.server)) {
        ctx.addIssue({ code: 'custom', path: ['capabilities', capability, 'server'], message: `no server named "${binding.server}" in servers` });
      }
    }
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
      /**
       * Ingest answers batches its routing lease settles (src/aggregation/routing-lease.ts)
       * for this many seconds after the group gave it, with signalWithStart and no wait for
       * a worker. It asks for a lease only for groups whose batches come more often than
       * that (Alertmanager's one webhook per group_interval, 5 m by default, never does).
       * A closing incident a lease may name is held until the lease has run out (plus 5 s),
       * so the 202 stays right (BENCHMARKS.md, alert storm). 0: every batch waits for its
       * group's answer.
       */
      routingLeaseSeconds: z.number().nonnegative().default(DEFAULT_ROUTING_LEASE_SECONDS),
    })
    .default({ host: '127.0.0.1', port: 8787, bearerTokens: [], hmacSecrets: [], maxBodyBytes: 1024 * 1024, routingLeaseSeconds: DEFAULT_ROUTING_LEASE_SECONDS }),
  tools: ToolRegistryConfig.default({ servers: [], capabilities: {} }),
  incident: IncidentSettings.partial().default({}),
  /**
   * Alert aggregation for new alert groups (vigil ingest, vigil dev): groupWaitSeconds,
   * groupIntervalSeconds, inhibitRules (Alertmanager's source_matchers/target_matchers/equal),
   * flapping, topologyMergeWindowSeconds, severityMap, ... (src/aggregation/settings.ts).
   * Absent: the defaults, with group wait from incident.groupWaitSeconds. Group labels are
   * `ingest.groupBy`. Unknown keys are refused (a misspelt setting must not be ignored).
   * A running group adopts changed settings at its first delivery from an ingest process
   * started with them (its record lists the keys that changed); an incident already in
   * group_wait keeps the open time it was given.
   */
  // The routing lease is ingest's setting (ingest.routingLeaseSeconds): one place to set it.
  aggregation: AggregationSettings.omit({ routingLeaseSeconds: true }).strict().optional(),
  /** The tamper-evident audit log: JSONL under dataDir (default) or PostgreSQL. */
  audit: AuditConfig.default({ store: 'jsonl', fsync: true, postgres: { table: 'vigil_audit' }, redaction: { piiFields: [], piiPatterns: [] } }),
  /** Past incidents and runbooks: the store (file | postgres) and optional embeddings (src/knowledge/knowledge-config.ts). */
  knowledge: KnowledgeConfig.default(DEFAULT_KNOWLEDGE_CONFIG),
  /** Worker metrics (GET /metrics), the Temporal SDK's metrics, tracing, value baseline, SLI drift (src/observability/config.ts). */
  observability: ObservabilityConfig.optional(),
});
export type VigilConfig = z.infer<typeof VigilConfig>;
