/**
 * The one adapter between vigil and @modelcontextprotocol/sdk's client side (the server
 * side is src/mcp/mcp-server-kit.ts): a pool of MCP client
 * connections, one per configured server, opened lazily, reopened after a failure and
 * closed on shutdown. Nothing else in vigil imports the MCP client SDK.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { McpServerConfig } from '../schemas/config.js';

/** The raw answer of one tool call. */
export interface ToolCallResult {
  isError: boolean;
  structuredContent: unknown;
  text: string;
}

/** Thrown when a server cannot be reached or the call fails at the transport level. */
export class McpUnavailableError extends Error {
  override readonly name = 'McpUnavailableError';
  constructor(
    readonly server: string,
    message: string,
  ) {
    super(message);
  }
}

function expandEnv(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{([A-Z0-9_]+)\}/gi, (_, name: string) => env[name] ?? '');
}

export class McpClientPool {
  private readonly servers = new Map<string, McpServerConfig>();
  private readonly clients = new Map<string, Promise<Client>>();

  constructor(
    servers: McpServerConfig[],
    private readonly opts: { env?: NodeJS.ProcessEnv; clientName?: string; timeoutMs?: number } = {},
  ) {
    for (const s of servers) this.servers.set(s.name, s);
  }

  serverNames(): string[] {
    return [...this.servers.keys()];
  }

  private connect(name: string): Promise<Client> {
    const existing = this.clients.get(name);
    if (existing) return existing;
    const config = this.servers.get(name);
    if (!config) return Promise.reject(new McpUnavailableError(name, `no MCP server named "${name}" is configured`));
    const env = this.opts.env ?? process.env;
    const client = new Client({ name: this.opts.clientName ?? 'vigil', version: '0.1.0' });
    const transport =
      config.transport === 'http'
        ? new StreamableHTTPClientTransport(new URL(config.url), {
            requestInit: { headers: Object.fromEntries(Object.entries(config.headers).map(([k, v]) => [k, expandEnv(v, env)])) },
          })
        : new StdioClientTransport({
            command: config.command,
            args: config.args,
            env: { ...(env as Record<string, string>), ...Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, expandEnv(v, env)])) },
            ...(config.cwd ? { cwd: config.cwd } : {}),
            stderr: 'pipe',
          });
    const connecting = client
      .connect(transport)
      .then(() => {
        client.onclose = () => {
          if (this.clients.get(name) === connecting) this.clients.delete(name);
        };
        return client;
      })
      .catch((err: unknown) => {
        this.clients.delete(name);
        throw new McpUnavailableError(name, `cannot connect to MCP server "${name}": ${(err as Error).message}`);
      });
    this.clients.set(name, connecting);
    return connecting;
  }

  /** Calls a tool; on a transport failure reconnects once and retries. */
  async callTool(server: string, tool: string, args: Record<string, unknown>): Promise<ToolCallResult> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.connect(server);
      try {
        const res = await client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.opts.timeoutMs ?? 60_000 });
        const content = Array.isArray(res.content) ? (res.content as { type: string; text?: string }[]) : [];
        return {
          isError: res.isError === true,
          structuredContent: res.structuredContent,
          text: content
            .filter((c) => c.type === 'text')
            .map((c) => c.text ?? '')
            .join('\n'),
        };
      } catch (err) {
        this.clients.delete(server);
        await client.close().catch(() => undefined);
        if (attempt >= 1) throw new McpUnavailableError(server, `MCP call ${server}/${tool} failed: ${(err as Error).message}`);
      }
    }
  }

  async listTools(server: string): Promise<string[]> {
    const client = await this.connect(server);
    const res = await client.listTools();
    return res.tools.map((t) => t.name);
  }

  async close(): Promise<void> {
    const all = [...this.clients.values()];
    this.clients.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }
}
