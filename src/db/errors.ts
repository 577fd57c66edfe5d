/**
 * Database errors as people should read them. Drizzle wraps a driver's error in one whose message
 * is the failed SQL and its parameters ("Failed query: update ..."); the reason is the cause (a
 * Postgres message, or the network's: ECONNREFUSED, a closed connection, a timeout). Readiness,
 * logs meant for operators and the CLI show the cause, never the SQL.
 */
import { redactSecrets } from '../logger.ts';

/** The innermost error: Drizzle's `cause`, a connection attempt's AggregateError's first error. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10; depth++) {
    const next =
      (current as { cause?: unknown })?.cause ??
      (current as { errors?: unknown[] })?.errors?.[0] ??
      undefined;
    if (next === undefined || next === current) break;
    current = next;
  }
  return current;
}

/** The SQLSTATE of a Postgres error (e.g. 23514 check_violation), wherever it is wrapped. */
export function sqlState(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 10; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isCheckViolation(error: unknown): boolean {
  return sqlState(error) === '23514';
}

/** One line saying why a database operation failed: the cause, secrets masked, no SQL. */
export function databaseErrorText(error: unknown): string {
  const cause = rootCause(error);
  if (!(cause instanceof Error)) return redactSecrets(String(cause));
  const code = (cause as { code?: unknown }).code;
  let text = cause.message.split('\n')[0] ?? '';
  if (/^Failed query:/.test(text)) text = 'the query failed';
  if (typeof code === 'string' && code !== '' && !text.includes(code))
    text = text ? `${text} (${code})` : code;
  return redactSecrets(text || cause.name);
}
