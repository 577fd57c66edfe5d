/**
 * Celery's message options (`apply_async` options of a beat entry, or django-celery-beat's columns)
 * into declaration options, each one either carried over, carried over as something else, or left
 * out — and then always listed with the reason (src/import/entry.ts `ImportNote`).
 */
import type { ScheduleDeclarationInput } from '../model/index.ts';
import { type ImportNote, noteValue } from './entry.ts';
import { pythonJson } from './python-json.ts';

export type MessageOptions = Pick<
  ScheduleDeclarationInput,
  'queue' | 'routingKey' | 'priority' | 'headers' | 'expires' | 'timeLimit' | 'softTimeLimit' | 'endAt'
>;

const LEFT_OUT: Record<string, string> = {
  exchange:
    'Metronome publishes straight to the queue (the default exchange, as Celery does for its automatic queues); bind the workers to the queue by name',
  countdown: 'Metronome sends each run at its scheduled instant; put the delay into the schedule itself',
  eta: 'Metronome sends each run at its scheduled instant',
  link: 'callbacks are not sent by Metronome',
  link_error: 'callbacks are not sent by Metronome',
  serializer: 'Metronome always sends JSON',
  compression: 'Metronome does not compress messages',
  retry: "Metronome retries a failed send itself, with the run's own task id",
  retry_policy: "Metronome retries a failed send itself, with the run's own task id",
  ignore_result: 'Metronome always lets the result backend record runs (it follows them to completion)',
};

/** Tagged values from metronome_celery.py (`{"$datetime": ...}`, `{"$queue": ...}`). */
function tagged(value: unknown, tag: string): unknown {
  return typeof value === 'object' && value !== null && tag in value
    ? (value as Record<string, unknown>)[tag]
    : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Seconds as a whole-seconds duration string, or null when Celery's value has a fraction. */
function wholeSeconds(value: unknown): string | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? `${value}s` : null;
}

/** Map Celery options; what cannot be carried over is a note. */
export function mapOptions(
  options: Record<string, unknown>,
  prefix = 'options.',
): { options: MessageOptions; notes: ImportNote[] } {
  const out: MessageOptions = {};
  const notes: ImportNote[] = [];
  const leftOut = (option: string, value: unknown, reason: string) =>
    notes.push({ option: `${prefix}${option}`, value: noteValue(value), kind: 'unsupported', reason });
  for (const [option, raw] of Object.entries(options)) {
    if (raw === null || raw === undefined) continue;
    const json = tagged(raw, '$json');
    let value: unknown = raw;
    if (typeof json === 'string') {
      try {
        value = pythonJson(json);
      } catch (error) {
        leftOut(option, json, `not JSON celery beat could send: ${(error as Error).message}`);
        continue;
      }
    }
    switch (option) {
      case 'queue': {
        const name = tagged(value, '$queue') ?? value;
        if (typeof name === 'string' && name !== '') out.queue = name;
        else leftOut(option, value, 'not a queue name');
        break;
      }
      case 'routing_key':
        if (typeof value === 'string' && value !== '') out.routingKey = value;
        else leftOut(option, value, 'not a routing key');
        break;
      case 'priority':
        if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 9)
          out.priority = value;
        else
          leftOut(option, value, 'Metronome priorities are whole numbers 0–9 (the range both brokers share)');
        break;
      case 'headers':
        if (isObject(value)) out.headers = value as MessageOptions['headers'];
        else leftOut(option, value, 'headers must be a JSON object');
        break;
      case 'expires': {
        const at = tagged(value, '$datetime');
        const seconds = tagged(value, '$seconds') ?? value;
        if (typeof at === 'string') {
          out.endAt = at;
          notes.push({
            option: `${prefix}${option}`,
            value: at,
            kind: 'mapped',
            reason:
              'an instant: Celery keeps sending runs after it that the workers then discard; Metronome stops at it (endAt)',
          });
        } else if (typeof seconds === 'number' && seconds > 0) {
          out.expires = Math.max(1, Math.round(seconds * 1000));
        } else leftOut(option, value, 'expires must be seconds or an instant');
        break;
      }
      case 'time_limit':
      case 'soft_time_limit': {
        const limit = wholeSeconds(value);
        if (limit === null) leftOut(option, value, 'Metronome sends time limits in whole seconds');
        else if (option === 'time_limit') out.timeLimit = limit;
        else out.softTimeLimit = limit;
        break;
      }
      case 'periodic_task_name':
        // django-celery-beat's own header; Metronome sends it for every run anyway.
        break;
      default:
        leftOut(option, value, LEFT_OUT[option] ?? 'not something a Metronome schedule can send');
    }
  }
  return { options: out, notes };
}
