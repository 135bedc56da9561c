/**
 * Starts a node:http server listening and says where: the one place vigil's small HTTP
 * servers (simulator, dataset replay, worker metrics) bind, so a bind error rejects,
 * port 0 means any free port, and the URL, the loopback Host headers to allow (MCP's DNS
 * rebinding protection) and the close are worked out the same way for each.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ListeningHttp {
  port: number;
  /** `http://host:port`, a wildcard host shown as 127.0.0.1, IPv6 in brackets. */
  url: string;
  /** For a loopback host: the Host headers a request may carry; undefined otherwise. */
  loopbackHosts: string[] | undefined;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export async function listenHttp(server: Server, port: number, host: string): Promise<ListeningHttp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port: bound,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${bound}`,
    loopbackHosts: LOOPBACK.has(host) ? [`127.0.0.1:${bound}`, `localhost:${bound}`, `[::1]:${bound}`] : undefined,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
