/**
 * Configuration: the environment, read once into a typed object (zod). A `.env` file in the working
 * directory is loaded first when present; variables already set in the environment win over it.
 * Every key is documented in `.env.example`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { redactSecrets } from './logger.ts';
import { parseDuration, ScheduleSpecError } from './time/index.ts';

/** A blank value is an unset one (`KEY=` in a .env file). */
export const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
/** A duration setting: `'30s'`, `'1h30m'` or milliseconds, at least `min` ms. */
export const duration = (fallback: string, min: number) =>
  z.preprocess(blank, z.string().default(fallback)).transform((text, ctx) => {
    try {
      const ms = parseDuration(/^\d+$/.test(text) ? Number(text) : text, 'duration');
      if (ms < min) ctx.addIssue({ code: 'custom', message: `must be at least ${min} ms` });
      return ms;
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: error instanceof ScheduleSpecError ? error.reason : String(error),
      });
      return 0;
    }
  });
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Environment keys that hold a connection URL, and so maybe a password: DATABASE_URL, REDIS_URL,
 * BROKER_URL, RESULT_BACKEND, METRONOME_LOCK_REDIS_URLS and any other `*_URL`/`*_URLS`. Their
 * values are never shown with the user name and password, whatever their form.
 */
const URL_KEY = /(?:_URLS?|^RESULT_BACKEND)$/;
/** Environment keys whose whole value is a secret (METRONOME_ALERT_WEBHOOK_SECRET, METRONOME_API_TOKEN). */
const SECRET_KEY = /(?:_SECRET|_TOKEN|_PASSWORD)$/;

/**
 * A URL with everything before its last `@` hidden (after the scheme), also when it is malformed
 * (`postgres//user:secret@host`, a space in the host), where a parser would not find the password.
 * A comma-separated list is hidden part by part.
 */
function hideCredentials(text: string): string {
  return text
    .split(',')
    .map((part) => {
      const at = part.lastIndexOf('@');
      if (at < 0) return redactSecrets(part);
      const scheme = /^\s*[a-z][a-z0-9+.-]*:?\/{0,2}/i.exec(part)?.[0] ?? '';
      return `${scheme}***${part.slice(at)}`;
    })
    .join(',');
}

/** An environment value as an error message may show it (quoted; a URL key's credentials hidden). */
export function shownEnvValue(key: string, value: string | undefined): string {
  const text = value ?? '';
  // A secret is never shown, whatever is wrong with it: only how long it is.
  if (SECRET_KEY.test(key)) return `(hidden, ${text.length} characters)`;
  return JSON.stringify(URL_KEY.test(key) ? hideCredentials(text) : redactSecrets(text));
}

/**
 * Why a connection URL cannot be read the way its driver reads it: a form the URL parser refuses, or
 * a `%` in the user name, password or path that starts no valid escape (drivers decode them, and
 * would throw). Several hosts (`postgres://h1,h2/db`, which postgres.js accepts) are judged by the
 * first. Never names the value: the caller shows it with {@link shownEnvValue}.
 */
export function urlFormProblem(url: string): string | null {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*@)?([^/?#@]*)(.*)$/i.exec(url);
  let parsed: URL;
  try {
    parsed = new URL(match ? `${match[1]}${match[2] ?? ''}${match[3]?.split(',')[0]}${match[4]}` : url);
  } catch {
    return 'is not a valid URL: check its form (scheme://user:password@host:port/path) and percent-encode @ : / ? # and spaces in the user name and password';
  }
  try {
    for (const part of [parsed.username, parsed.password, parsed.pathname]) decodeURIComponent(part);
  } catch {
    return 'has a % that starts no valid escape in its user name, password or path: write a literal % as %25';
  }
  return null;
}

/** A zod check for a connection URL's form (after its scheme was checked). */
const checkUrlForm = (url: string, ctx: z.RefinementCtx) => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return;
  const problem = urlFormProblem(url);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/** A connection URL setting: one of `schemes`, in a form its driver can read. */
export const connectionUrl = (schemes: RegExp, message: string) =>
  z.string().regex(schemes, message).superRefine(checkUrlForm);

/** A comma-separated list of connection URLs, each checked like {@link connectionUrl}. */
export const checkUrlListForm = (urls: string, ctx: z.RefinementCtx) => {
  for (const url of urls.split(',')) checkUrlForm(url.trim(), ctx);
};

const envSchema = z.object({
  DATABASE_URL: z.preprocess(
    blankToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
  ),
  METRONOME_DATA_DIR: z.preprocess(blankToUndefined, z.string().default('.metronome')),
  LOG_LEVEL: z.preprocess(blankToUndefined, z.enum(LOG_LEVELS).default('info')),
});

export interface Config {
  /** Postgres connection string; undefined selects the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** Absolute path of the embedded database's folder (used only without DATABASE_URL). */
  dataDir: string;
  logLevel: (typeof LOG_LEVELS)[number];
}

export class ConfigError extends Error {}

/** Parse the environment with a zod schema; every problem in one ConfigError naming the variables. */
export function parseEnv<T>(schema: z.ZodType<T>, env: NodeJS.ProcessEnv): T {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = String(issue.path[0] ?? '');
    // Never echo a URL with its password in an error message, whatever its form.
    return `${key}=${shownEnvValue(key, env[key])}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')} (see .env.example)`);
}

let dotEnvLoaded = false;

/** Read `.env` from the working directory into process.env, once, if the file exists. */
function loadDotEnv(cwd = process.cwd()): void {
  if (dotEnvLoaded) return;
  dotEnvLoaded = true;
  const file = path.join(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  if (env === process.env) loadDotEnv(cwd);
  const { DATABASE_URL, METRONOME_DATA_DIR, LOG_LEVEL } = parseEnv(envSchema, env);
  const problem = DATABASE_URL === undefined ? null : databaseUrlProblem(DATABASE_URL);
  // (The value is not echoed: a malformed URL is where a password would escape the redaction.)
  if (problem) throw new ConfigError(`invalid configuration: DATABASE_URL ${problem} (see .env.example)`);
  return {
    databaseUrl: DATABASE_URL,
    dataDir: path.resolve(cwd, METRONOME_DATA_DIR),
    logLevel: LOG_LEVEL,
  };
}

const declarationSchema = z.object({ METRONOME_DECLARATION_TIMEOUT: duration('10s', 100) });

/** Longest one declaration file may take to load (see src/declare/load.ts). */
export function declarationTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return parseEnv(declarationSchema, env).METRONOME_DECLARATION_TIMEOUT;
}

/**
 * Why a Postgres URL cannot be used: it does not parse, or it names no database (the driver would
 * then silently use the server's default one, and create Metronome's schema there). Several hosts
 * (`postgres://h1,h2/db`, which postgres.js accepts) are judged by the first.
 */
function databaseUrlProblem(url: string): string | null {
  const form = urlFormProblem(url);
  if (form)
    return form.replace(
      'scheme://user:password@host:port/path',
      'postgres://user:password@host:5432/database',
    );
  const match = /^([a-z]+:\/\/)([^/?#]*@)?([^/?#@]*)(.*)$/i.exec(url);
  const parsed = new URL(match ? `${match[1]}${match[2] ?? ''}${match[3]?.split(',')[0]}${match[4]}` : url);
  if (decodeURIComponent(parsed.pathname.replace(/^\//, '')) === '') {
    return "has no database name: add one after the host, e.g. postgres://user:password@host:5432/metronome (otherwise the server's default database would be used)";
  }
  return null;
}

const LISTEN_ADDRESS = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/;

/** Why `text` is not a listen address (`host:port`, `[v6]:port`), or null. */
export function listenAddressProblem(text: string): string | null {
  const match = LISTEN_ADDRESS.exec(text.trim());
  if (!match) return 'use host:port (e.g. 127.0.0.1:9464), [::1]:9464, or off';
  if (Number(match[3]) > 65_535) return 'the port must be from 0 to 65535';
  return null;
}

/** A listen address: `host:port` or `[v6]:port`; an empty host means every interface. */
export function parseListenAddress(text: string, key: string): { host: string; port: number } {
  const problem = listenAddressProblem(text);
  const match = LISTEN_ADDRESS.exec(text.trim());
  if (problem || !match) {
    throw new ConfigError(`invalid configuration: ${key}=${JSON.stringify(text)}: ${problem}`);
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port: Number(match[3]) };
}

/** Whether a listen host is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const alertSchema = z.object({
  METRONOME_ALERT_WEBHOOK_URL: z.preprocess(
    blank,
    connectionUrl(/^https?:\/\//, 'must start with http:// or https://').optional(),
  ),
  METRONOME_ALERT_WEBHOOK_SECRET: z.preprocess(
    blank,
    z.string().min(16, 'must be at least 16 characters (a random shared secret)').optional(),
  ),
  METRONOME_ALERT_WEBHOOK_TIMEOUT: duration('10s', 100),
  METRONOME_ALERT_RETRY_MAX: duration('5m', 1_000),
  METRONOME_DEADLINE_INTERVAL: duration('5s', 100),
  METRONOME_PUBLIC_URL: z.preprocess(
    blank,
    z
      .string()
      .regex(/^https?:\/\//, 'must start with http:// or https:// (the dashboard as people reach it)')
      .optional(),
  ),
});

/** Where and how alerts go (docs/alerts.md). */
export interface AlertSettings {
  /** The webhook alerts are POSTed to; none: alerts are recorded and counted, not delivered. */
  webhookUrl: string | undefined;
  /** The shared secret of the HMAC-SHA256 signature; required with a webhook. */
  webhookSecret: string | undefined;
  webhookTimeoutMs: number;
  /** Longest wait between two delivery attempts (they double from 1 s up to it). */
  retryMaxMs: number;
  /** How often the leader judges occurrences against their deadlines. */
  deadlineIntervalMs: number;
  /** The dashboard's address as people reach it, for the link in each alert; none: a path only. */
  publicUrl: string | undefined;
}

export function loadAlertSettings(env: NodeJS.ProcessEnv = process.env): AlertSettings {
  const e = parseEnv(alertSchema, env);
  if (e.METRONOME_ALERT_WEBHOOK_URL && !e.METRONOME_ALERT_WEBHOOK_SECRET) {
    throw new ConfigError(
      'invalid configuration: METRONOME_ALERT_WEBHOOK_SECRET is required with METRONOME_ALERT_WEBHOOK_URL (receivers verify the signature with it; see .env.example)',
    );
  }
  return {
    webhookUrl: e.METRONOME_ALERT_WEBHOOK_URL,
    webhookSecret: e.METRONOME_ALERT_WEBHOOK_SECRET,
    webhookTimeoutMs: e.METRONOME_ALERT_WEBHOOK_TIMEOUT,
    retryMaxMs: e.METRONOME_ALERT_RETRY_MAX,
    deadlineIntervalMs: e.METRONOME_DEADLINE_INTERVAL,
    publicUrl: e.METRONOME_PUBLIC_URL?.replace(/\/+$/, ''),
  };
}
