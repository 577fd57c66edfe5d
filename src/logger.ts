/**
 * The logger: pino JSON lines on stderr (stdout is kept for command output such as `--json`), with
 * secrets redacted — both in well-known fields and inside free text, where a connection URL with a
 * password tends to turn up (driver error messages, stack traces).
 */
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** `postgres://user:secret@host` → `postgres://user:***@host`, anywhere in a string. */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)@/gi;
/** `password=secret` as in libpq keyword strings and query strings. */
const KEYWORD_PASSWORD = /\b(password|passwd|pwd)=([^\s&;]+)/gi;

export function redactSecrets(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@').replace(KEYWORD_PASSWORD, '$1=***');
}

const REDACT_PATHS = [
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'DATABASE_URL',
  '*.DATABASE_URL',
  'url',
  '*.url',
  'headers.authorization',
  '*.headers.authorization',
];

function censorValue(value: unknown, path: string[]): unknown {
  const key = path[path.length - 1] ?? '';
  return /url/i.test(key) && typeof value === 'string' ? redactSecrets(value) : '***';
}

function serializeError(error: unknown): Record<string, unknown> {
  const base = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  for (const key of ['message', 'stack']) {
    const value = base[key];
    if (typeof value === 'string') base[key] = redactSecrets(value);
  }
  return base;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go; default stderr. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'metronome' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A URL keeps everything but its password (a listen address, a server name help operators);
      // any other redacted value is masked whole.
      redact: { paths: REDACT_PATHS, censor: censorValue },
      serializers: { err: serializeError, error: serializeError },
      hooks: {
        // Scrub the message text itself (the `msg` field), which redact paths cannot reach.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((arg) => (typeof arg === 'string' ? redactSecrets(arg) : arg)) as Parameters<
              typeof method
            >,
          );
        },
      },
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
