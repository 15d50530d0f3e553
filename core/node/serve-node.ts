import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { StartupError } from '../errors.ts';

export interface NodeServer {
  url: string;
  /** Stops accepting connections, ends idle ones and resolves when open requests are done. */
  close(): Promise<void>;
}

/** Serves a Hono app on Node at `host:port`; a taken port is a clear `StartupError`. */
export async function serveNode(
  app: Pick<Hono, 'fetch'>,
  address: { host: string; port: number },
): Promise<NodeServer> {
  const server: ServerType = createAdaptorServer({ fetch: app.fetch });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use' : `fails (${error.code})`;
      reject(
        new StartupError(
          `Kai cannot start: ${address.host}:${address.port} ${why}. Set PORT (or HOST) to a ` +
            'free address.',
          { cause: error },
        ),
      );
    });
    server.listen(address.port, address.host, () => resolve());
  });

  const { port } = server.address() as AddressInfo;
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;

  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}
