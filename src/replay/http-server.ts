/**
 * The replay server over HTTP: MCP Streamable HTTP at /mcp (stateless: a fresh MCP
 * server and transport per request) and GET /healthz with the case being served.
 * `startReplayServer({ caseDir })` serves one case; `startReplayHttp({ model })`
 * serves a model, or whichever model a function returns at request time (the
 * evaluation swaps cases behind one URL between incidents).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { answerMcpHttpRequest } from '../mcp/mcp-server-kit.js';
import type { Logger } from 'pino';
import { createReplayMcpServer } from './mcp-server.js';
import { ReplayModel, type BaselinePlacement } from './replay-model.js';
import { listenHttp } from '../http/listen-http.js';

/** Largest MCP request body accepted (requests are small; answers can be large). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export interface ReplayHttpOptions {
  /** The case to serve, or a function returning the current one (undefined: none loaded, 503). */
  model: ReplayModel | (() => ReplayModel | undefined);
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  logger?: Logger;
}

export interface ReplayHttp {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** MCP endpoint: `${url}/mcp` */
  mcpUrl: string;
  port: number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const rpcError = (res: ServerResponse, status: number, code: number, message: string, headers: Record<string, string> = {}) =>
  sendJson(res, status, { jsonrpc: '2.0', error: { code, message }, id: null }, headers);

async function readBody(req: IncomingMessage): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Serves a replay model (or a changing one) over MCP Streamable HTTP. */
export async function startReplayHttp(options: ReplayHttpOptions): Promise<ReplayHttp> {
  const { logger } = options;
  const current = typeof options.model === 'function' ? options.model : () => options.model as ReplayModel;
  const host = options.host ?? '127.0.0.1';
  let allowedHosts: string[] | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const model = current();
    if (path === '/healthz' && req.method === 'GET') {
      return sendJson(res, 200, { ok: true, case: model?.caseId ?? null });
    }
    if (path !== '/mcp') return sendJson(res, 404, { error: 'not_found', message: `no route ${req.method ?? 'GET'} ${path}` });
    if (req.method !== 'POST') return rpcError(res, 405, -32000, 'Method not allowed: this server is stateless, use POST', { allow: 'POST' });
    const text = await readBody(req);
    if (text === null) return rpcError(res, 413, -32000, `request body over ${MAX_REQUEST_BYTES} bytes`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      return rpcError(res, 400, -32700, 'Parse error');
    }
    if (!model) return rpcError(res, 503, -32000, 'no case is loaded in this replay server');
    await answerMcpHttpRequest(() => createReplayMcpServer(model, logger ? { logger } : {}), req, res, body, allowedHosts);
  };

  const httpServer = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger?.error({ err: error }, 'replay http request failed');
      if (res.headersSent) res.destroy();
      else sendJson(res, 500, { error: 'internal_error', message: error instanceof Error ? error.message : String(error) });
    });
  });
  const listening = await listenHttp(httpServer, options.port ?? 0, host);
  allowedHosts = listening.loopbackHosts;
  const { url, port } = listening;
  logger?.info({ url }, 'replay server listening');
  return {
    url,
    mcpUrl: `${url}/mcp`,
    port,
    close: listening.close,
  };
}

export interface StartReplayServerOptions {
  /** The case bundle directory (cases/<id>/ of a dataset). */
  caseDir: string;
  /** @default 'before-window' */
  baseline?: BaselinePlacement;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  logger?: Logger;
}

/**
 * Opens the case in `caseDir` (throws InvalidCaseError for a directory that is not a
 * case bundle) and serves it over MCP Streamable HTTP.
 */
export async function startReplayServer(options: StartReplayServerOptions): Promise<ReplayHttp & { model: ReplayModel }> {
  const model = await ReplayModel.open(options.caseDir, options.baseline ? { baseline: options.baseline } : {});
  const http = await startReplayHttp({
    model,
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  return { ...http, model };
}
