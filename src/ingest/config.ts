/**
 * The configurable part of the ingest server, as a schema the process config can
 * embed (`ingest: IngestConfig`). Dependencies (sink, logger, clock) are passed
 * to createIngestServer beside it.
 */
import { z } from 'zod';
import { IngestAuthConfig } from './auth.js';

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export const IngestConfig = z.object({
  maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES).describe('largest accepted body, bytes; @default 1 MiB'),
  groupBy: z
    .array(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name'))
    .optional()
    .describe("labels that define an incident group, e.g. ['alertname','service']; overrides Alertmanager's groupKey; generic alerts default to ['service']"),
  auth: IngestAuthConfig.optional().describe('bearer tokens and/or HMAC secrets; either valid credential is enough; absent = open'),
  requestTimeoutMs: z.number().int().positive().default(30_000).describe('whole-request time limit; @default 30000'),
  readyTimeoutMs: z.number().int().positive().default(2_000).describe('how long /readyz waits for sink.ready(); @default 2000'),
});
export type IngestConfig = z.infer<typeof IngestConfig>;
export type IngestConfigInput = z.input<typeof IngestConfig>;
