/**
 * The one adapter between vigil's own MCP servers (the simulator, the dataset replay
 * server) and @modelcontextprotocol/sdk's server side, as src/mcp/mcp-client-pool.ts is
 * for the client side: creating a server, answering one stateless Streamable HTTP
 * request, and serving stdio. Nothing else in vigil imports the MCP server SDK.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

export type ToolServer = McpServer;
export type { CallToolResult, ToolAnnotations };

/** A new MCP server named `name` (its tools are registered by the caller). */
export function createToolServer(info: { name: string; version: string }, instructions: string): ToolServer {
  return new McpServer(info, { instructions });
}

/**
 * Answers one MCP request statelessly: a fresh server (from `create`) and transport for
 * this request, JSON responses, both closed when the response closes. `allowedHosts`
 * turns on DNS-rebinding protection.
 */
export async function answerMcpHttpRequest(create: () => ToolServer, req: IncomingMessage, res: ServerResponse, body: unknown, allowedHosts?: string[]): Promise<void> {
  const server = create();
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: true,
    ...(allowedHosts ? { enableDnsRebindingProtection: true, allowedHosts } : {}),
  });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, body);
}

/** Serves `server` on this process's stdin/stdout until stdin closes or `close()` is called. */
export async function serveToolServerStdio(server: ToolServer): Promise<{ close(): Promise<void> }> {
  await server.connect(new StdioServerTransport());
  return { close: () => server.close() };
}
