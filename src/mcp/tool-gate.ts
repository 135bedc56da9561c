/**
 * The one gate every tool call goes through: it resolves a capability to the configured
 * MCP server and tool, refuses capabilities the caller's stage may not use (diagnosis is
 * read-only; before the checkpoint, high-risk actions may only be prepared or released;
 * acting tools only once the checkpoint allowed them), validates the
 * arguments and the result against the capability's schemas, and records the call
 * (tool, arguments, result digest, duration, stage) in the evidence store.
 */
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { CAPABILITY_SCHEMAS, PREPARE_CAPABILITIES, READ_ONLY_CAPABILITIES, type Capability } from '../schemas/capabilities.js';
import type { CapabilityBinding, ToolRegistryConfig } from '../schemas/config.js';
import { canonicalJson, sha256, type EvidenceStore } from '../evidence/evidence-store.js';
import type { McpClientPool } from './mcp-client-pool.js';
import { planToolCalls, type PlannedCall } from './registry-plan.js';
import { TemplateError } from './registry-templates.js';
import { adaptResult, EMPTY_RESULTS, mergeResults, ResultAdapterError } from './result-adapters.js';

/** Who is calling: diagnosis and verification read; preparation (before the checkpoint) also prepares and aborts; remediation acts. */
export type CallerStage = 'diagnosis' | 'preparation' | 'remediation' | 'verification';

/** Error types (stable strings, used by retry policies). */
export const ToolErrorType = {
  NotAllowed: 'ToolNotAllowed',
  NotConfigured: 'ToolNotConfigured',
  SchemaError: 'ToolSchemaError',
  ToolError: 'ToolError',
  Unavailable: 'ToolUnavailable',
} as const;

const STAGE_CAPABILITIES: Record<CallerStage, (c: Capability) => boolean> = {
  diagnosis: (c) => READ_ONLY_CAPABILITIES.includes(c),
  verification: (c) => READ_ONLY_CAPABILITIES.includes(c),
  preparation: (c) => READ_ONLY_CAPABILITIES.includes(c) || PREPARE_CAPABILITIES.includes(c),
  remediation: () => true,
};

export interface GateContext {
  incidentId: string;
  stage: CallerStage;
}

type CallOutcome = { ok: true; value: unknown } | { ok: false; type: string; message: string; nonRetryable: boolean };

type Output<C extends Capability> = z.infer<(typeof CAPABILITY_SCHEMAS)[C]['output']>;
type Input<C extends Capability> = z.input<(typeof CAPABILITY_SCHEMAS)[C]['input']>;

export class ToolGate {
  constructor(
    private readonly registry: ToolRegistryConfig,
    private readonly pool: McpClientPool,
    private readonly store: EvidenceStore,
  ) {}

  has(capability: Capability): boolean {
    return this.registry.capabilities[capability] !== undefined;
  }

  async call<C extends Capability>(capability: C, args: Input<C>, ctx: GateContext): Promise<Output<C>> {
    const startedAt = Date.now();
    const rec: Record<string, unknown> = { at: new Date(startedAt).toISOString(), capability, stage: ctx.stage, arguments: args };
    const fail = async (type: string, message: string, nonRetryable: boolean): Promise<never> => {
      rec['error'] = { type, message };
      rec['durationMs'] = Date.now() - startedAt;
      await this.store.appendToolCall(ctx.incidentId, rec);
      throw ApplicationFailure.create({ type, message, nonRetryable });
    };

    if (!STAGE_CAPABILITIES[ctx.stage](capability)) {
      return fail(ToolErrorType.NotAllowed, `${capability} is not allowed during ${ctx.stage}`, true);
    }
    const binding = this.registry.capabilities[capability];
    if (!binding) return fail(ToolErrorType.NotConfigured, `no tool is configured for ${capability}`, true);
    rec['server'] = binding.server;
    rec['tool'] = binding.tool;

    const schemas = CAPABILITY_SCHEMAS[capability];
    const parsedArgs = schemas.input.safeParse(args);
    if (!parsedArgs.success) {
      return fail(ToolErrorType.SchemaError, `arguments for ${binding.tool}: ${z.prettifyError(parsedArgs.error)}`, true);
    }
    let calls: PlannedCall[];
    try {
      calls = planToolCalls(binding, parsedArgs.data as Record<string, unknown>);
    } catch (err) {
      if (err instanceof TemplateError) return fail(ToolErrorType.SchemaError, `arguments for ${binding.tool}: ${err.message}`, true);
      throw err;
    }
    if (binding.arguments || binding.fanOut) rec['toolArguments'] = calls.map((c) => c.arguments);

    // Fan-out calls run concurrently; the first failure (in entry order) is the one reported.
    const outcomes = await Promise.all(calls.map((call) => this.callOne(capability, binding, call)));
    const failed = outcomes.find((o) => !o.ok);
    if (failed && !failed.ok) return fail(failed.type, failed.message, failed.nonRetryable);
    let payload: unknown;
    if (calls.length === 0) {
      payload = EMPTY_RESULTS[capability];
      if (payload === undefined) return fail(ToolErrorType.NotConfigured, `no fanOut entry of ${binding.tool} answers ${JSON.stringify(parsedArgs.data)}`, true);
    } else {
      try {
        payload = mergeResults(outcomes.map((o) => (o.ok ? o.value : undefined)));
      } catch (err) {
        return fail(ToolErrorType.SchemaError, `result of ${binding.tool} failed its schema: ${(err as Error).message}`, true);
      }
    }
    const parsed = schemas.output.safeParse(payload);
    if (!parsed.success) {
      return fail(ToolErrorType.SchemaError, `result of ${binding.tool} failed its schema: ${z.prettifyError(parsed.error)}`, true);
    }
    rec['resultDigest'] = sha256(canonicalJson(parsed.data));
    rec['durationMs'] = Date.now() - startedAt;
    await this.store.appendToolCall(ctx.incidentId, rec);
    return parsed.data as Output<C>;
  }

  /** One tool call of a capability call: the raw answer, its JSON, the result adapter. */
  private async callOne(capability: Capability, binding: CapabilityBinding, call: PlannedCall): Promise<CallOutcome> {
    const tool = call.entry === undefined ? binding.tool : `${binding.tool} (fanOut[${call.entry}])`;
    let result;
    try {
      result = await this.pool.callTool(binding.server, binding.tool, call.arguments);
    } catch (err) {
      return { ok: false, type: ToolErrorType.Unavailable, message: (err as Error).message, nonRetryable: false };
    }
    if (result.isError) {
      const nonRetryable = capability.startsWith('remediation.') && capability !== 'remediation.get_state';
      return { ok: false, type: ToolErrorType.ToolError, message: `${tool}: ${result.text.slice(0, 500)}`, nonRetryable };
    }
    let payload: unknown = result.structuredContent;
    if (payload === undefined) {
      try {
        payload = JSON.parse(result.text);
      } catch {
        return { ok: false, type: ToolErrorType.SchemaError, message: `${tool} returned no structured content and its text is not JSON`, nonRetryable: true };
      }
    }
    try {
      return { ok: true, value: adaptResult(binding.result, payload, { vars: call.vars }) };
    } catch (err) {
      if (!(err instanceof ResultAdapterError)) throw err;
      return { ok: false, type: ToolErrorType.SchemaError, message: `result of ${tool} failed its schema: ${err.message}`, nonRetryable: true };
    }
  }
}
