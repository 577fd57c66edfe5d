/**
 * The schedule spec options shared by `beat next`, `beat add` and `beat edit`: a cron expression
 * with --tz (a string, or Celery's object form as JSON), --every [--anchor], --solar --lat --lon,
 * or --at. Declared once here ({@link specOptions}) and read once ({@link specFromOptions}; for
 * `beat edit`, also one part of the stored spec: {@link specWithParts}).
 */
import type { Command } from 'commander';
import { parseJsonExact } from '../model/json.ts';
import type { ScheduleSpec } from '../time/index.ts';
import { CliError } from './errors.ts';

export interface SpecOptions {
  cron?: string;
  tz?: string;
  every?: string;
  anchor?: string;
  solar?: string;
  lat?: string;
  lon?: string;
  at?: string;
  /** A crontab's DST policy: `repeated=first|second|both,missing=shift|skip` (either part). */
  dst?: string;
}

/** The help text of `--dst`, for every command that takes a crontab. */
const DST_OPTION_HELP =
  "a crontab's DST policy: 'repeated=first|second|both,missing=shift|skip' (either part; default by the hour field)";

/**
 * Declare the spec options on a command. `cron` says how the cron expression is given: as the
 * `--cron` option (`beat add`) or as the command's argument (`beat next`, which declares it);
 * `tz` describes --tz for that command.
 */
export function specOptions(command: Command, cron: 'option' | 'argument', tz: string): Command {
  if (cron === 'option') {
    command.option(
      '--cron <expr>',
      "cron expression ('30 2 * * *'), or Celery's object form as JSON ('{\"hour\": 2}')",
    );
  }
  return command
    .option('--tz <zone>', tz)
    .option('--dst <policy>', DST_OPTION_HELP)
    .option('--every <duration>', "interval: '30s', '15m', '1h30m' or milliseconds")
    .option('--anchor <instant>', 'grid anchor of --every (ISO 8601 with offset); default the Unix epoch')
    .option('--solar <event>', 'solar event: sunrise, sunset, solar_noon, dawn_civil, dusk_civil, ...')
    .option('--lat <degrees>', 'latitude of --solar')
    .option('--lon <degrees>', 'longitude of --solar')
    .option('--at <instant>', 'a clocked (one-off) run at this instant (ISO 8601 with offset)');
}

/** `cronLabel` names the cron option in messages: "a cron expression" (an argument) or "--cron". */
export function specFromOptions(o: SpecOptions, cronLabel: string): ScheduleSpec {
  const given = [o.cron, o.every, o.solar, o.at].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new CliError(
      given === 0
        ? `give one schedule: ${cronLabel} with --tz ZONE, --every DURATION, --solar EVENT --lat N --lon N, or --at INSTANT`
        : `give only one of ${cronLabel}, --every, --solar and --at`,
    );
  }
  if (o.cron !== undefined) {
    if (o.tz === undefined) {
      throw new CliError(`${cronLabel} needs --tz ZONE (an IANA time zone such as Europe/Berlin, or UTC)`);
    }
    // Celery's object form as JSON: '{"minute": 0, "hour": 9, "dayOfWeek": 1, "dayOfMonth": "1-7"}'.
    const cron = o.cron.trim().startsWith('{') ? parseJsonOption(o.cron, cronLabel) : o.cron;
    return {
      kind: 'crontab',
      cron: cron as never,
      timezone: o.tz,
      ...(o.dst === undefined ? {} : { dst: o.dst }),
    };
  }
  if (o.dst !== undefined) throw new CliError(`--dst applies to ${cronLabel} only`);
  if (o.every !== undefined)
    return { kind: 'interval', every: durationOption(o.every) as number | string, anchor: o.anchor };
  if (o.solar !== undefined) {
    if (o.lat === undefined || o.lon === undefined) throw new CliError('--solar needs --lat and --lon');
    return {
      kind: 'solar',
      event: o.solar as never,
      latitude: parseNumberOption(o.lat, '--lat'),
      longitude: parseNumberOption(o.lon, '--lon'),
    };
  }
  return { kind: 'clocked', runAt: o.at as string };
}

/** A bare number on the command line is milliseconds, as in declarations. */
export function durationOption(text: string | undefined): number | string | undefined {
  if (text === undefined) return undefined;
  return /^\d+$/.test(text.trim()) ? Number(text) : text;
}

/** JSON from the command line; `exact` keeps numbers a double would change (src/model/json.ts). */
export function parseJsonOption(text: string | undefined, flag: string, exact = false): unknown {
  if (text === undefined) return undefined;
  try {
    return exact ? parseJsonExact(text) : JSON.parse(text);
  } catch (error) {
    throw new CliError(`${flag} is not valid JSON (${(error as Error).message}): ${text}`);
  }
}

export function parseNumberOption(text: string, flag: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value))
    throw new CliError(`${flag} ${JSON.stringify(text)} is not a number`);
  return value;
}

/** `beat edit`: whether a whole new spec is given (--cron, --every, --solar or --at). */
export function wholeSpecGiven(o: SpecOptions): boolean {
  return [o.cron, o.every, o.solar, o.at].some((v) => v !== undefined);
}

/** The options that change one part of a stored spec, by the kind of spec they belong to. */
const PART_OPTIONS = {
  tz: { kind: 'crontab', field: 'timezone' },
  dst: { kind: 'crontab', field: 'dst' },
  anchor: { kind: 'interval', field: 'anchor' },
  lat: { kind: 'solar', field: 'latitude' },
  lon: { kind: 'solar', field: 'longitude' },
} as const;

/** `beat edit`: the part options given without a whole spec (`--dst` alone), by option name. */
export function specPartsGiven(o: SpecOptions): (keyof typeof PART_OPTIONS)[] {
  return (Object.keys(PART_OPTIONS) as (keyof typeof PART_OPTIONS)[]).filter((k) => o[k] !== undefined);
}

/**
 * `beat edit NAME --dst ...` (or --tz, --anchor, --lat, --lon alone): the stored spec with those
 * parts changed, so an operator changes a crontab's DST policy without restating its expression.
 * A part of another kind of spec than the stored one is refused, naming the flag.
 */
export function specWithParts(o: SpecOptions, stored: ScheduleSpec, name: string): ScheduleSpec {
  const spec: Record<string, unknown> = { ...stored };
  for (const option of specPartsGiven(o)) {
    const part = PART_OPTIONS[option];
    if (part.kind !== stored.kind) {
      throw new CliError(
        `--${option} changes the spec of a ${part.kind} schedule, but ${JSON.stringify(name)} is ${stored.kind === 'interval' ? 'an' : 'a'} ${stored.kind} schedule: give its whole new spec (--cron EXPR --tz ZONE, --every, --solar or --at)`,
      );
    }
    const text = o[option] as string;
    spec[part.field] = option === 'lat' || option === 'lon' ? parseNumberOption(text, `--${option}`) : text;
  }
  return spec as unknown as ScheduleSpec;
}
