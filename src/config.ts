/**
 * Configuration: the environment, read once into a typed object (zod). A `.env` file in the working
 * directory is loaded first when present; variables already set in the environment win over it.
 * Every key is documented in `.env.example`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { redactSecrets } from './logger.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

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
    // Never echo a URL with its password in an error message.
    return `${key}=${redactSecrets(JSON.stringify(env[key] ?? ''))}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')} (see .env.example)`);
}

let dotEnvLoaded = false;

/** Read `.env` from the working directory into process.env, once, if the file exists. */
export function loadDotEnv(cwd = process.cwd()): void {
  if (dotEnvLoaded) return;
  dotEnvLoaded = true;
  const file = path.join(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  if (env === process.env) loadDotEnv(cwd);
  const { DATABASE_URL, METRONOME_DATA_DIR, LOG_LEVEL } = parseEnv(envSchema, env);
  return {
    databaseUrl: DATABASE_URL,
    dataDir: path.resolve(cwd, METRONOME_DATA_DIR),
    logLevel: LOG_LEVEL,
  };
}
