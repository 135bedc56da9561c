/**
 * The simulator over HTTP: MCP Streamable HTTP at /mcp (stateless: a fresh server
 * and transport per request) and a small JSON control API on the same port for
 * injecting faults and reading state: /control/faults, /control/fault-kinds,
 * /control/services, /control/state/:service, /control/action-counts, /control/prepared
 * (two-phase actions, their status and requests per phase), /healthz.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { answerMcpHttpRequest } from '../mcp/mcp-server-kit.js';
import type { Logger } from 'pino';
import { InvalidFaultError, InvalidInputError, SimulatorError } from './errors.js';
import { FAULT_KINDS, FaultInjection } from './faults.js';
import { createSimulatorMcpServer } from './mcp-server.js';
import { parseInput, SimulatorModel, type SimulatorModelOptions } from './model.js';
import { listenHttp } from '../http/listen-http.js';

/** Largest request body accepted. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface SimulatorHttpOptions {
  model: SimulatorModel;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
  logger?: Logger;
}

export interface SimulatorHttp {
  /** Base URL, e.g. http://127.0.0.1:8788 */
  url: string;
  /** MCP endpoint: `${url}/mcp` */
  mcpUrl: string;
  /** Control API base: `${url}/control` */
  controlUrl: string;
  port: number;
  model: SimulatorModel;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: readonly string[],
  ) {
    super(message);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body_too_large', `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InvalidInputError('request body is not valid JSON', ['(body)']);
  }
}

/** Answer one /control or /healthz request. */
async function control(model: SimulatorModel, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/healthz' && method === 'GET') return sendJson(res, 200, { ok: true, now: model.now() });
  if (path === '/control/faults') {
    if (method === 'GET') return sendJson(res, 200, { faults: model.faults() });
    if (method === 'DELETE') return sendJson(res, 200, { cleared: model.clearFaults(), faults: model.faults() });
    if (method === 'POST') {
      const spec = parseInput(FaultInjection, await readJson(req));
      const faultId = model.inject(spec);
      return sendJson(res, 201, { faultId, fault: model.fault(faultId) });
    }
    throw new HttpError(405, 'method_not_allowed', `${method} not allowed on ${path}`);
  }
  if (method !== 'GET') throw new HttpError(405, 'method_not_allowed', `${method} not allowed on ${path}`);
  if (path === '/control/fault-kinds') return sendJson(res, 200, { kinds: FAULT_KINDS });
  if (path === '/control/services') return sendJson(res, 200, { services: model.services() });
  if (path === '/control/action-counts') return sendJson(res, 200, { callCounts: model.callCounts(), requestCounts: model.requestCounts() });
  if (path === '/control/prepared') return sendJson(res, 200, { prepared: model.preparedActions() });
  const state = /^\/control\/state\/([^/]+)$/.exec(path);
  if (state?.[1]) return sendJson(res, 200, model.getState(decodeURIComponent(state[1])));
  throw new HttpError(404, 'not_found', `no route ${method} ${path}`);
}

/** Answer one /mcp request with a fresh stateless MCP server. */
async function mcp(model: SimulatorModel, req: IncomingMessage, res: ServerResponse, allowedHosts: string[] | undefined, logger: Logger | undefined): Promise<void> {
  if (req.method !== 'POST') {
    // Stateless server: no standalone SSE stream (GET) and no session to end (DELETE).
    const text = JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless, use POST' }, id: null });
    res.writeHead(405, { 'content-type': 'application/json', allow: 'POST' });
    res.end(text);
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req)) as unknown;
  } catch (error) {
    if (error instanceof HttpError) throw error;
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null }));
    return;
  }
  await answerMcpHttpRequest(() => createSimulatorMcpServer(model, logger ? { logger } : {}), req, res, body, allowedHosts);
}

/** Serve `model` over MCP Streamable HTTP plus the control API. */
export async function startSimulatorHttp(options: SimulatorHttpOptions): Promise<SimulatorHttp> {
  const { model, logger } = options;
  const host = options.host ?? '127.0.0.1';
  let allowedHosts: string[] | undefined;
  const httpServer = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const handle = path === '/mcp' ? mcp(model, req, res, allowedHosts, logger) : control(model, req, res, path);
    handle.catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        return sendJson(res, error.status, { error: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) });
      }
      if (error instanceof SimulatorError) {
        const fields = error instanceof InvalidInputError ? error.fields : error instanceof InvalidFaultError ? [error.field] : undefined;
        return sendJson(res, error.httpStatus, { error: error.code, message: error.message, ...(fields ? { fields } : {}) });
      }
      logger?.error({ err: error, path }, 'simulator http request failed');
      sendJson(res, 500, { error: 'internal_error', message: error instanceof Error ? error.message : String(error) });
    });
  });
  const listening = await listenHttp(httpServer, options.port ?? 0, host);
  allowedHosts = listening.loopbackHosts;
  const { url, port } = listening;
  logger?.info({ url }, 'simulator listening');
  return {
    url,
    mcpUrl: `${url}/mcp`,
    controlUrl: `${url}/control`,
    port,
    model,
    close: listening.close,
  };
}

export interface StartSimulatorOptions extends SimulatorModelOptions {
  host?: string;
  port?: number;
  logger?: Logger;
}

/** Build a model from `seed` (and clock) and serve it over HTTP: what `vigil dev` runs. */
export async function startSimulator(options: StartSimulatorOptions = {}): Promise<SimulatorHttp> {
  const { host, port, logger, ...modelOptions } = options;
  const model = new SimulatorModel(modelOptions);
  return startSimulatorHttp({ model, ...(host !== undefined ? { host } : {}), ...(port !== undefined ? { port } : {}), ...(logger ? { logger } : {}) });
}
