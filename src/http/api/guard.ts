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

function tokensMatch(given: string, expected: string): boolean {
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

/**
 * Refuse a request target with a control character (a NUL, which Postgres cannot take, a newline)
 * in the path or any query parameter, or a path that is not valid percent-encoding: a 400 naming
 * the part, before any route or the database sees it.
 */
export function checkRequestTarget(target: string): void {
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new ApiError(400, 'bad_name', `${JSON.stringify(segment)} is not a valid percent-encoded name`);
    }
    if (CONTROL.test(decoded)) {
      throw new ApiError(
        400,
        'bad_character',
        'the path holds a control character (such as %00); names never do',
      );
    }
  }
  if (queryAt < 0) return;
  for (const [key, value] of new URLSearchParams(target.slice(queryAt + 1))) {
    if (CONTROL.test(key) || CONTROL.test(value)) {
      throw new ApiError(
        400,
        'bad_character',
        `the query parameter ${JSON.stringify(key.replace(CONTROL_ALL, '?'))} holds a control character (such as %00); remove it`,
      );
    }
  }
}

const CONTROL = /\p{Cc}/u;
const CONTROL_ALL = /\p{Cc}/gu;

/**
 * Who may read: `open` answers every read (the dashboard and GET /api/v1) to anyone who reaches
 * the port; `token` asks for METRONOME_API_TOKEN, as `Authorization: Bearer <token>` or, for a
 * browser, Basic authentication with the token as the password. The probes, /metrics and the
 * dashboard's static assets are always open. One setting, applied to every route (src/http/app.ts).
 */
export type ReadAccess = 'open' | 'token';

/**
 * METRONOME_API_READS: `open`, `token`, or `auto` (the default): open on a loopback bind (only this
 * machine reaches it; the Host check keeps browsers of other sites out), token anywhere else.
 */
export function apiReadsFrom(env: NodeJS.ProcessEnv, bind: string): ReadAccess {
  const value = (env.METRONOME_API_READS ?? '').trim() || 'auto';
  if (value === 'open' || value === 'token') return value;
  if (value !== 'auto') {
    throw new ConfigError(
      `invalid configuration: METRONOME_API_READS=${JSON.stringify(value)}: use token, open, or auto (open on a loopback bind, token elsewhere)`,
    );
  }
  const host = /^\[([^\]]*)\]|^([^:]*)/.exec(bind.trim());
  const name = host?.[1] ?? host?.[2] ?? '';
  return name !== '' && isLoopbackHost(name) ? 'open' : 'token';
}

/** A read, when reads need the token: Bearer, or Basic with the token as the password. */
export function requireReadToken(req: IncomingMessage, token: string | undefined): void {
  if (!token) {
    throw new ApiError(
      403,
      'reads_closed',
      'this beat answers reads only with METRONOME_API_TOKEN, and none is set: set one, or METRONOME_API_READS=open',
    );
  }
  const header = req.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  const password = basic === undefined ? undefined : basicPassword(basic);
  const given = bearer ?? password;
  if (given !== undefined && tokensMatch(given, token)) return;
  throw new ApiError(
    401,
    given === undefined ? 'token_required' : 'token_invalid',
    'reading needs METRONOME_API_TOKEN: send Authorization: Bearer <token> (a browser asks for it: any user name, the token as the password)',
    { 'www-authenticate': 'Basic realm="metronome", charset="UTF-8"' },
  );
}

function basicPassword(encoded: string): string | undefined {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : text.slice(colon + 1);
}

/**
 * The API caller as the audit log records them: the name they give, and their address. The header
 * is read as UTF-8 (HTTP carries bytes; Node hands them over as Latin-1), or in RFC 8187's form
 * `UTF-8''<percent-encoded>`, which is what the dashboard sends (a browser cannot send other
 * characters than Latin-1 in a header). Invisible and control characters are dropped.
 */
export function apiActor(req: IncomingMessage): Actor {
  const raw = req.headers['x-metronome-actor'];
  const given = actorText((Array.isArray(raw) ? raw[0] : raw) ?? '');
  const name = Array.from(given.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, '').trim())
    .slice(0, 64)
    .join('')
    .trim();
  return { name: name || 'api', via: 'api', address: req.socket.remoteAddress ?? null };
}

function actorText(raw: string): string {
  const extended = /^utf-8''(.*)$/i.exec(raw.trim());
  if (extended) {
    try {
      return decodeURIComponent(extended[1]!);
    } catch {
      return '';
    }
  }
  const utf8 = Buffer.from(raw, 'latin1').toString('utf8');
  // Not valid UTF-8: Latin-1 is what was meant.
  return utf8.includes('\ufffd') ? raw : utf8;
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
