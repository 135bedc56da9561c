/**
 * The replay server over stdio: stdout carries the MCP protocol, so nothing else may
 * write to it; logs go to stderr.
 */
import { serveToolServerStdio } from '../mcp/mcp-server-kit.js';
import type { Logger } from 'pino';
import { createReplayMcpServer } from './mcp-server.js';
import type { ReplayModel } from './replay-model.js';

/** Serves `model` on this process's stdin/stdout until stdin closes or `close()` is called. */
export async function serveReplayStdio(model: ReplayModel, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void> }> {
  const served = await serveToolServerStdio(createReplayMcpServer(model, options.logger ? { logger: options.logger } : {}));
  options.logger?.info({ case: model.caseId, dir: model.bundle.dir }, 'replay server serving MCP on stdio');
  return served;
}
