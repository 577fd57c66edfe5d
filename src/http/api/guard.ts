/**
 * Who may do what. Reads are open (the API and the page are read-only without a token). A mutation
 * needs `Authorization: Bearer <METRONOME_API_TOKEN>`, compared in constant time, and must not come
 * from another site: no cookies are ever used (so a forged form has no credentials to ride on), the
 * token travels in a header a cross-site page cannot set without a CORS preflight (which this server
 * never grants), and a request whose Origin or Sec-Fetch-Site says another site is refused anyway.
 * On a loopback bind, Host must be a loopback name too, so a rebound DNS name cannot read the API
 * from a browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ConfigError } from '../../config.ts';
import type { Actor } from '../../operate/actor.ts';
import { ApiError } from './respond.ts';

export function tokensMatch(given: string, expected: string): boolean {
  // Hash first: equal lengths for timingSafeEqual, and no early exit on a length difference.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function requireToken(req: IncomingMessage, token: string | undefined): void {
  refuseCrossSite(req);
  if (!token) {
    throw new ApiError(
      403,
      'read_only',
      'this beat serves the API read-only: set METRONOME_API_TOKEN on it to allow changes',
    );
  }
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) {
    throw new ApiError(401, 'token_required', 'a change needs the header Authorization: Bearer <token>', {
      'www-authenticate': 'Bearer realm="metronome"',
    });
  }
  if (!tokensMatch(match[1]!, token)) {
    throw new ApiError(401, 'token_invalid', 'the token is not the one this beat was given', {
      'www-authenticate': 'Bearer realm="metronome", error="invalid_token"',
    });
  }
}

function refuseCrossSite(req: IncomingMessage): void {
  if (req.headers['sec-fetch-site'] === 'cross-site') {
    throw new ApiError(403, 'cross_site', 'changes from another site are refused');
  }
  const origin = req.headers.origin;
  if (origin && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      throw new ApiError(403, 'cross_site', `the Origin ${JSON.stringify(origin)} is not a URL`);
    }
    if (host !== req.headers.host) {
      throw new ApiError(
        403,
        'cross_site',
        `changes from ${origin} are refused: only this page may make them`,
      );
    }
  } else if (origin === 'null') {
    throw new ApiError(403, 'cross_site', 'changes from an opaque origin are refused');
  }
}

const LOOPBACK_NAMES = /^(localhost|.+\.localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_NAMES.test(host) || host === '::1';
}

/** On a loopback bind, refuse a Host that is not loopback (a DNS rebinding attempt). */
export function checkHost(req: IncomingMessage, loopbackOnly: boolean): void {
  if (!loopbackOnly) return;
  const host = req.headers.host ?? '';
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  if (!isLoopbackHost(name)) {
    throw new ApiError(
      403,
      'host_not_allowed',
      `this beat listens on loopback and answers only to localhost names, not ${JSON.stringify(host)}; set METRONOME_HTTP to listen elsewhere`,
    );
  }
}

/** The API caller as the audit log records them: the name they give, and their address. */
export function apiActor(req: IncomingMessage): Actor {
  const raw = req.headers['x-metronome-actor'];
  const given = (Array.isArray(raw) ? raw[0] : raw) ?? '';
  const name = given
    .replace(/[^\p{L}\p{N}\p{P}\p{Zs}]/gu, '')
    .trim()
    .slice(0, 64);
  return { name: name || 'api', via: 'api', address: req.socket.remoteAddress ?? null };
}

/** METRONOME_API_TOKEN: unset or blank is read-only; a short one is refused (it could be guessed). */
export function apiTokenFrom(env: NodeJS.ProcessEnv): string | undefined {
  const token = env.METRONOME_API_TOKEN?.trim();
  if (!token) return undefined;
  if (token.length < 16 || /\s/.test(token)) {
    throw new ConfigError(
      'METRONOME_API_TOKEN is too weak: use at least 16 characters without spaces, e.g. the output of `openssl rand -hex 32`',
    );
  }
  return token;
}
