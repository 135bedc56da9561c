/**
 * Server side of vigil's capability tools, shared by the MCP servers vigil ships (the
 * simulator, the dataset replay server): a tool with the capability's name and input and
 * output schemas (src/schemas/capabilities.ts), whose result is checked against the
 * output schema before it leaves, returned as structuredContent plus JSON text, and whose
 * failures become tool errors with a text a person can act on.
 */
import type { CallToolResult, ToolAnnotations, ToolServer } from './mcp-server-kit.js';
import { z } from 'zod';
import { CAPABILITY_SCHEMAS, CAPABILITY_TOOLS, type Capability } from '../schemas/capabilities.js';

export type CapabilityArgs<C extends Capability> = z.output<(typeof CAPABILITY_SCHEMAS)[C]['input']>;

/** What a server says about one of its capability tools. */
export interface CapabilityToolText {
  title: string;
  description: string;
  annotations: ToolAnnotations;
}

export interface CapabilityToolOptions {
  /** The text of a failed call (`<code>: <message>` for the server's own errors). */
  errorText: (error: unknown) => string;
  /** Told of every failed call (to log it). */
  onError?: (tool: string, error: unknown) => void;
  /** Results over this many JSON characters get a one-line summary as text. @default no limit */
  maxTextChars?: number;
}

/**
 * The text block beside structuredContent: the same JSON (for clients that read text only)
 * unless it is over `max` characters (recorded traces run to megabytes, and sending them
 * twice doubles the response); then a one-line summary says where the data is.
 */
export function resultText(tool: string, structured: Record<string, unknown>, max = Number.POSITIVE_INFINITY): string {
  const json = JSON.stringify(structured);
  if (json.length <= max) return json;
  const counts = Object.entries(structured)
    .filter(([, v]) => Array.isArray(v))
    .map(([k, v]) => `${(v as unknown[]).length} ${k}`)
    .join(', ');
  return `${tool}: ${counts || 'result'} (${(json.length / 1024 / 1024).toFixed(1)} MB of JSON): too large to repeat as text; read structuredContent`;
}

export function registerCapabilityTool<C extends Capability>(
  server: ToolServer,
  capability: C,
  tool: CapabilityToolText,
  run: (args: CapabilityArgs<C>) => unknown,
  options: CapabilityToolOptions,
): void {
  const { input, output } = CAPABILITY_SCHEMAS[capability];
  const name = CAPABILITY_TOOLS[capability];
  const handler = async (args: unknown): Promise<CallToolResult> => {
    try {
      const result = await run(args as CapabilityArgs<C>);
      const checked = (output as z.ZodType).safeParse(result);
      if (!checked.success) throw new Error(`result of ${name} does not match its output schema: ${z.prettifyError(checked.error)}`);
      const structured = checked.data as Record<string, unknown>;
      return { structuredContent: structured, content: [{ type: 'text', text: resultText(name, structured, options.maxTextChars) }] };
    } catch (error) {
      options.onError?.(name, error);
      return { isError: true, content: [{ type: 'text', text: options.errorText(error) }] };
    }
  };
  server.registerTool(name, { title: tool.title, description: tool.description, inputSchema: input.shape, outputSchema: output, annotations: tool.annotations }, handler as never);
}
