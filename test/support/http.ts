/**
 * HTTP requests with full control over what is sent (Host, Origin, raw and oversized bodies),
 * which fetch() does not give, and the dashboard mounted on a real server.
 */
import { request } from 'node:http';
import type { Server } from 'node:net';
import type { Readiness } from '../../src/beat/health.ts';
import type { BeatMetrics } from '../../src/beat/metrics.ts';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../src/http/app.ts';
import { startHttpServer } from '../../src/http/server.ts';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (read by shape in tests, as JSON.parse returns it). */
  json: () => ReturnType<typeof JSON.parse>;
}

export function call(
  base: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: {
          ...(options.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }),
        );
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export interface MountedDashboard {
  url: string;
  dashboard: Dashboard;
  close(): Promise<void>;
}

/** The dashboard on the beat's HTTP server, on a free loopback port. */
export async function mountDashboard(
  options: Omit<DashboardOptions, 'bind'>,
  metrics: BeatMetrics,
  readiness: () => Readiness,
): Promise<MountedDashboard> {
  const dashboard = createDashboard({ ...options, bind: '127.0.0.1:0' });
  const { server, url } = await startHttpServer({
    bind: '127.0.0.1:0',
    metrics,
    readiness,
    routes: dashboard.handle,
  });
  return {
    url,
    dashboard,
    async close() {
      await dashboard.close();
      await new Promise((resolve) => (server as Server).close(resolve));
    },
  };
}
