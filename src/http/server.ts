/**
 * `/healthz` (the process is not wedged: its event loop turns, and a leader's tick loop turns),
 * `/readyz` (this replica is fit to lead: the database answers and it leads or is a healthy standby)
 * and `/metrics` (Prometheus). Bound to METRONOME_HTTP, default 127.0.0.1:9464. docs/runtime.md, "HTTP".
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Liveness, Readiness } from '../beat/health.ts';
import type { BeatMetrics } from '../beat/metrics.ts';
import { parseListenAddress } from '../config.ts';
import { checkHost, checkRequestTarget, isLoopbackHost } from './api/guard.ts';
import { ApiError, sendError } from './api/respond.ts';
import { EventLoopWatch } from './event-loop.ts';

/**
 * The server's own limits, whatever a client does: a client that trickles its headers or body is
 * cut off, an idle keep-alive connection closed, and the number of connections bounded (the live
 * streams have their own, lower caps: src/http/live.ts). docs/api.md, "Limits".
 */
const SERVER_LIMITS = {
  /** The whole header block must arrive within this. */
  headersTimeoutMs: 10_000,
  /** The whole request (headers and body) must arrive within this; a live stream's response is not bounded. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  maxHeadersCount: 64,
  maxConnections: 256,
  maxRequestsPerSocket: 1_000,
} as const;

export interface HttpOptions {
  bind: string;
  metrics: BeatMetrics;
  readiness: () => Readiness;
  /** Asked first (the dashboard and the API, src/http/app.ts): true when it answered the request. */
  routes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** The beat's own liveness (its tick loop); the event loop is watched here. */
  liveness?: () => Liveness;
  /** A blocked event loop fails /healthz past this; default 30 s. */
  stallMs?: number;
}

export function parseBind(bind: string): { host: string; port: number } {
  return parseListenAddress(bind, 'METRONOME_HTTP');
}

/** The server could not listen (the address in use, not this machine's, not allowed). */
export class HttpBindError extends Error {}

export async function startHttpServer(options: HttpOptions): Promise<{ server: Server; url: string }> {
  const watch = new EventLoopWatch(options.stallMs ?? 30_000);
  const liveness = (): Liveness => {
    const reasons = [...watch.check().reasons, ...(options.liveness?.().reasons ?? [])];
    return { live: reasons.length === 0, reasons };
  };
  const { host, port } = parseBind(options.bind);
  const loopbackOnly = isLoopbackHost(host);
  const server = createServer({ maxHeaderSize: SERVER_LIMITS.maxHeaderBytes }, (req, res) => {
    // Every route, the probes included: the Host check and a request target without control characters.
    try {
      checkHost(req, loopbackOnly);
      checkRequestTarget(req.url ?? '/');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      sendError(res, error);
      return;
    }
    if (options.routes?.(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const l = liveness();
      res.writeHead(l.live ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(l)}\n`);
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
  server.headersTimeout = SERVER_LIMITS.headersTimeoutMs;
  server.requestTimeout = SERVER_LIMITS.requestTimeoutMs;
  server.keepAliveTimeout = SERVER_LIMITS.keepAliveTimeoutMs;
  server.maxHeadersCount = SERVER_LIMITS.maxHeadersCount;
  server.maxConnections = SERVER_LIMITS.maxConnections;
  server.maxRequestsPerSocket = SERVER_LIMITS.maxRequestsPerSocket;
  await new Promise<void>((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) =>
      reject(new HttpBindError(bindFailure(options.bind, error)));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  watch.start();
  server.on('close', () => watch.stop());
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
