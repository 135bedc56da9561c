/**
 * The simulator over stdio: stdout carries the MCP protocol, so nothing else may
 * write to it; logs go to stderr.
 */
import { serveToolServerStdio } from '../mcp/mcp-server-kit.js';
import type { Logger } from 'pino';
import { createSimulatorMcpServer } from './mcp-server.js';
import type { SimulatorModel } from './model.js';

/** Serve `model` on this process's stdin/stdout until stdin closes or `close()` is called. */
export async function serveSimulatorStdio(model: SimulatorModel, options: { logger?: Logger } = {}): Promise<{ close(): Promise<void> }> {
  const served = await serveToolServerStdio(createSimulatorMcpServer(model, options.logger ? { logger: options.logger } : {}));
  options.logger?.info({ seed: model.seed }, 'simulator serving MCP on stdio');
  return served;
}
