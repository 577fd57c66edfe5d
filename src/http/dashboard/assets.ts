/**
 * The dashboard's static files: `web/` at the package root (dashboard.css, dashboard.js,
 * favicon.svg), shipped in the package as they are — no build step, nothing fetched at run time.
 * Read once into memory; served with an ETag, and cached for good when asked for by their
 * versioned URL (`/assets/dashboard.css?v=<hash>`, the form the pages link to).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError, SECURITY_HEADERS } from '../api/respond.ts';
import type { Exchange } from '../context.ts';

/** src/http/dashboard → the package root's web/ (the same depth from a compiled dist/http/dashboard). */
const WEB_DIR = fileURLToPath(new URL('../../../web/', import.meta.url));

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  hash: string;
}

let loaded: Map<string, Asset> | undefined;

function assets(): Map<string, Asset> {
  if (loaded) return loaded;
  loaded = new Map();
  for (const name of readdirSync(WEB_DIR)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    const body = readFileSync(path.join(WEB_DIR, name));
    loaded.set(name, { body, type, hash: createHash('sha256').update(body).digest('hex').slice(0, 16) });
  }
  return loaded;
}

/** The URL a page links an asset by: versioned by its content, so a new release is never stale. */
export function assetUrl(name: string): string {
  const asset = assets().get(name);
  if (!asset) throw new Error(`no dashboard asset ${name} in ${WEB_DIR}`);
  return `/assets/${name}?v=${asset.hash}`;
}

export async function serveAsset({ req, res, url, params }: Exchange): Promise<void> {
  const asset = assets().get(params[0]!);
  if (!asset) throw new ApiError(404, 'not_found', `no asset ${params[0]}`);
  const etag = `"${asset.hash}"`;
  const headers = {
    ...SECURITY_HEADERS,
    'content-type': asset.type,
    etag,
    'cache-control':
      url.searchParams.get('v') === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': asset.body.length }).end(asset.body);
}
