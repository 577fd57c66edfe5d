/**
 * What python/metronome_celery.py reports about a Celery app (its `dump` and `times` answers), and
 * the two calls. The shapes here are the contract with that script.
 */
import type { CeleryField } from './cron-fields.ts';
import { runPythonHelper } from './python.ts';

export interface CeleryAppInfo {
  main: string | null;
  timezone: string | null;
  enableUtc: boolean;
  /** The IANA name of the app's zone (`app.timezone`), null when it has none. */
  zone: string | null;
  /** beat_max_loop_interval (seconds). */
  maxInterval: number;
}

export type CelerySchedule =
  | {
      kind: 'crontab';
      minute: CeleryField;
      hour: CeleryField;
      dayOfWeek: CeleryField;
      dayOfMonth: CeleryField;
      monthOfYear: CeleryField;
      /** The zone its now() answers in (the app's, its nowfun's, or its own): its wall clock. */
      zone: string | null;
      zoneRepr: string;
      nowfun: boolean;
    }
  | { kind: 'interval'; seconds: number; relative: boolean; zone: string | null }
  | { kind: 'solar'; event: string; latitude: number; longitude: number }
  | { kind: 'clocked'; at: string }
  | { kind: 'unsupported'; type: string; repr: string };

export interface CeleryEntry {
  name: string;
  task: unknown;
  /** Why the entry could not even be read (celery beat itself would refuse it). */
  problem?: string;
  /** args and kwargs as Celery's JSON serializer writes them: text, so that no number is rounded. */
  argsJson?: string;
  kwargsJson?: string;
  schedule?: CelerySchedule;
  options?: Record<string, unknown>;
  /** An entry celery beat adds by itself (celery.backend_cleanup). */
  default?: boolean;
  /** Keys of the entry dict celery beat ignores. */
  unknownKeys?: string[];
  /** From celery beat's schedule file. */
  lastRunAt?: string | null;
  totalRunCount?: number | null;
}

export interface CeleryDump {
  app: CeleryAppInfo;
  entries: CeleryEntry[];
  warnings: string[];
}

export interface CeleryAppSource {
  /** `proj.celery:app`, as `celery -A` takes it. */
  app: string;
  python: string;
  /** celery beat's schedule file (`celerybeat-schedule`), for the entries' last runs. */
  scheduleFile?: string | undefined;
  cwd?: string | undefined;
}

const what = (source: CeleryAppSource) => `loading the Celery app ${JSON.stringify(source.app)}`;

export function dumpCeleryApp(source: CeleryAppSource): Promise<CeleryDump> {
  return runPythonHelper<CeleryDump>({
    python: source.python,
    script: 'metronome_celery.py',
    args: ['dump', source.app, ...(source.scheduleFile ? ['--schedule-file', source.scheduleFile] : [])],
    cwd: source.cwd,
    what: what(source),
  });
}

/** Segments of time to replay, ISO instants: the entry last ran at the start of each. */
export type SegmentIso = [string, string];

/** Celery's fires of one entry; `failure` when Celery's own code raised (celery beat would stop there). */
export interface CeleryFires {
  fires: string[];
  failure?: { at: string; error: string };
}

export interface TimesAnswer {
  entries: Record<string, CeleryFires | { error: string }>;
}

export function celeryAppTimes(
  source: CeleryAppSource,
  entries: { name: string; segments: SegmentIso[] }[],
): Promise<TimesAnswer> {
  return runPythonHelper<TimesAnswer>({
    python: source.python,
    script: 'metronome_celery.py',
    args: ['times', source.app],
    input: { entries },
    cwd: source.cwd,
    what: `computing celery beat's times with ${JSON.stringify(source.app)}`,
  });
}
