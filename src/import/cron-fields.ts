/**
 * A Celery crontab, as the value sets Celery fires on, into Metronome's stored form of Celery's
 * object crontab (`cron_fields`, where all fields must match, as in Celery). Each field keeps the
 * text the user wrote (`'*\/15'`, `'mon-fri'`) when Metronome reads that text as the very same set,
 * so the imported schedule reads like the original; otherwise it is written as the list of values
 * (`fri-mon` → `[0, 1, 5, 6]`). A field that covers its whole range is left out (`*`).
 */
import { type CeleryCrontab, type CronFields, parseCeleryCrontab } from '../time/index.ts';
import { CELERY_FIELDS, type CeleryFieldKey } from './celery-crontab.ts';

export interface CeleryField {
  /** What the user wrote, when it was a string or a number. */
  orig: string | number | null;
  /** The values Celery expanded it to. */
  values: number[];
}

export type CeleryFieldSets = Record<CeleryFieldKey, CeleryField>;

const KEYS = Object.keys(CELERY_FIELDS) as CeleryFieldKey[];

/** Metronome's object crontab with Celery's meaning; null values mean Celery could never fire. */
export function toCronFields(fields: CeleryFieldSets): CeleryCrontab | { empty: CeleryFieldKey } {
  const out: Record<string, string | number | number[]> = {};
  for (const key of KEYS) {
    const { orig, values } = fields[key];
    const sorted = [...new Set(values)].sort((a, b) => a - b);
    if (sorted.length === 0) return { empty: key };
    if (sorted.length === CELERY_FIELDS[key].size) continue;
    if (orig !== null && sameSet(ourValues(key, String(orig)), sorted)) {
      out[key] = typeof orig === 'number' ? orig : String(orig).trim();
    } else {
      out[key] = sorted.length === 1 ? sorted[0]! : sorted;
    }
  }
  return out as CeleryCrontab;
}

/** The values Metronome fires on for one field written as `text`, or null when it reads it otherwise. */
function ourValues(key: CeleryFieldKey, text: string): number[] | null {
  let parsed: CronFields;
  try {
    parsed = parseCeleryCrontab({ [key]: text });
  } catch {
    return null;
  }
  switch (key) {
    case 'minute':
      return parsed.minutes;
    case 'hour':
      return parsed.hours;
    case 'dayOfWeek':
      return parsed.dowLastMask !== 0 || parsed.nth !== 0 ? null : bits(parsed.dowMask, 0, 6);
    case 'dayOfMonth':
      return parsed.domLast ? null : bits(parsed.domMask, 1, 31);
    case 'monthOfYear':
      return bits(parsed.monthMask, 1, 12);
  }
}

function bits(mask: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) if ((mask >>> i) & 1) out.push(i);
  return out;
}

function sameSet(a: number[] | null, b: number[]): boolean {
  return a !== null && a.length === b.length && a.every((v, i) => v === b[i]);
}
