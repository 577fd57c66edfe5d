/**
 * `/healthz` (the process is alive), `/readyz` (the database answers and this beat either leads or
 * is a healthy standby) and `/metrics` (Prometheus). Bound to METRONOME_HTTP, default 127.0.0.1:9464.
 */
import { createServer, type Server } from 'node:http';
import { parseListenAddress } from '../config.ts';
import type { BeatMetrics } from './metrics.ts';

export interface Readiness {
  ready: boolean;
  role: 'leader' | 'standby' | 'starting' | 'stopping';
  reasons: string[];
}

export interface HttpOptions {
  bind: string;
  metrics: BeatMetrics;
  readiness: () => Readiness;
}

export function parseBind(bind: string): { host: string; port: number } {
  return parseListenAddress(bind, 'METRONOME_HTTP');
}

/** The server could not listen (the address in use, not this machine's, not allowed). */
export class HttpBindError extends Error {}

export async function startHttpServer(options: HttpOptions): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const r = options.readiness();
      res
        .writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' })
        .end(`${JSON.stringify(r)}\n`);
    } else if (path === '/metrics') {
      options.metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.metrics.registry.contentType }).end(text),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    } else {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end('not found: try /healthz, /readyz or /metrics\n');
    }
  });
  const { host, port } = parseBind(options.bind);
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(new HttpBindError(bindFailure(options.bind, error)));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}` };
}

function bindFailure(bind: string, error: NodeJS.ErrnoException): string {
  const why =
    error.code === 'EADDRINUSE'
      ? 'the address is already in use (another beat on this machine?)'
      : error.code === 'EACCES'
        ? 'permission denied (ports below 1024 need privileges)'
        : error.code === 'EADDRNOTAVAIL'
          ? 'that host is not an address of this machine'
          : error.message;
  return `METRONOME_HTTP=${bind}: cannot listen: ${why}; set METRONOME_HTTP to a free host:port, or off`;
}
