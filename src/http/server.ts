/**
 * `/healthz` (the process is alive), `/readyz` (the database answers and this beat either leads or
 * is a healthy standby) and `/metrics` (Prometheus). Bound to METRONOME_HTTP, default 127.0.0.1:9464.
 */
import { createServer, type Server } from 'node:http';
import type { BeatMetrics } from '../beat/metrics.ts';

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
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(bind.trim());
  if (!match)
    throw new Error(`METRONOME_HTTP ${JSON.stringify(bind)} is invalid: use host:port, e.g. 127.0.0.1:9464`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`METRONOME_HTTP ${JSON.stringify(bind)} is invalid: port above 65535`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

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
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}` };
}
