/**
 * The replay server over stdio: stdout carries the MCP protocol, so nothing else may
 * write to it; logs go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Logger } from 'pino';
import { createReplayMcpServer } from './mcp-server.js';
import type { ReplayModel } from './replay-model.js';

/** Serves `model` on this process's stdin/stdout until stdin closes or `close()` is called. */
export async function serveReplayStdio(model: ReplayModel, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void> }> {
  const server = createReplayMcpServer(model, options.logger ? { logger: options.logger } : {});
  const transport = new StdioServerTransport();
  await server.connect(transport);
  options.logger?.info({ case: model.caseId, dir: model.bundle.dir }, 'replay server serving MCP on stdio');
  return { close: () => server.close() };
}
