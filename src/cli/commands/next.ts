/**
 * `beat next`: preview the fire times of any spec before trusting it, with DST marks.
 *
 *   beat next '30 2 * * *' --tz Europe/Berlin --after 2026-03-27T00:00:00Z --count 5
 *   beat next --every 15m --count 3
 *   beat next --solar sunset --lat 52.52 --lon 13.405 --count 3
 *   beat next '0 9 L * *' --tz Europe/Berlin --exclude-weekdays sat,sun --on-excluded previous
 *   beat next '0 9 * * 1-5' --tz Europe/Berlin --calendars holidays-de   (stored calendars)
 *
 * Business calendars: fires a calendar moved are marked with where they come from, and slots it
 * skips are listed among the fires (not numbered: they do not fire).
 */
import type { Command } from 'commander';
import { calendarNotes } from '../../model/describe.ts';
import { dstOutlook } from '../../observe/dst-outlook.ts';
import {
  Calendar,
  type CalendarLookup,
  compileSchedule,
  parseInstant,
  type Schedule,
  ZoneRules,
} from '../../time/index.ts';
import { asCliError, CliError } from '../errors.ts';
import { describeDst, formatLocal, table } from '../format.ts';
import { type SpecOptions, specFromOptions, specOptions } from '../spec-options.ts';

interface NextOptions extends Omit<SpecOptions, 'cron'> {
  after?: string;
  count: string;
  name?: string;
  json?: boolean;
  calendars?: string;
  excludeWeekdays?: string;
  excludeDays?: string;
  onExcluded?: string;
}

/** The calendar of --exclude-weekdays and --exclude-days. */
const AD_HOC = 'command line';

export function registerNext(program: Command): void {
  const command = program
    .command('next')
    .description('show the next fire times of a crontab, interval, solar or one-off spec')
    .argument('[cron]', "a cron expression such as '30 2 * * *' (needs --tz)");
  specOptions(
    command,
    'argument',
    'IANA time zone: required for a cron expression; the display zone otherwise',
  )
    .option('--after <instant>', 'list fires strictly after this instant (default: now)')
    .option('--count <n>', 'how many fires to list', '10')
    .option('--name <name>', 'schedule name, which seeds H in cron fields')
    .option('--json', 'print a JSON array of UTC ISO instants and nothing else')
    .option('--calendars <names>', 'business calendars stored in the database, comma-separated')
    .option('--exclude-weekdays <list>', 'a calendar on the spot: weekdays to exclude, e.g. sat,sun')
    .option(
      '--exclude-days <list>',
      'a calendar on the spot: days to exclude, YYYY-MM-DD or FROM..TO, comma-separated',
    )
    .option('--on-excluded <action>', 'a fire on an excluded day: skip (default), previous or next')
    .action(async (cron: string | undefined, options: NextOptions) => {
      const spec = {
        ...specFromOptions({ ...options, cron }, 'a cron expression'),
        ...calendarOptions(options),
      };
      const count = Number(options.count);
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        throw new CliError(
          `--count ${JSON.stringify(options.count)} is invalid: use a whole number from 1 to 10000`,
        );
      }
      const after =
        options.after === undefined ? Date.now() : asCliError(() => parseInstant(options.after, '--after'));
      const lookup = await calendarLookupFor(options);
      const schedule = asCliError(() => compileSchedule(spec, { name: options.name, calendars: lookup }));
      const fires: number[] = [];
      for (const at of schedule.fires(after)) {
        fires.push(at);
        if (fires.length >= count) break;
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(fires.map((at) => new Date(at).toISOString()))}\n`);
        return;
      }
      const zone = asCliError(() => ZoneRules.get(options.tz ?? schedule.timezone, '--tz'));
      if (fires.length === 0) {
        process.stdout.write(
          schedule.kind === 'solar'
            ? 'No fires: the event does not occur within a year at this place (dormant).\n'
            : 'No fires after that instant.\n',
        );
        return;
      }
      const notes = calendarNotes(schedule, after, fires, zone);
      const listed = [
        ...fires.map((at, i) => ({
          at,
          row: [
            String(i + 1),
            new Date(at).toISOString(),
            formatLocal(at, zone),
            [describeDst(schedule.explain(at)), notes.moved.get(at) ?? ''].filter(Boolean).join('; '),
          ],
        })),
        ...notes.skipped.map((s) => ({
          at: s.at,
          row: [
            '-',
            new Date(s.at).toISOString(),
            formatLocal(s.at, zone),
            s.text.slice(s.text.indexOf('skipped')),
          ],
        })),
      ].sort((a, b) => a.at - b.at || (a.row[0] === '-' ? -1 : 1));
      const header = schedule.calendars ? 'DST / calendar' : 'DST';
      process.stdout.write(
        `${table(
          ['#', 'UTC', `Local (${zone.name})`, header],
          listed.map((l) => l.row),
        )}\n`,
      );
      if (schedule.calendars) {
        const { names, action } = schedule.calendars;
        process.stdout.write(
          `\nCalendars: ${names.join(', ')}; a fire on an excluded day is ${action === 'skip' ? 'skipped (- rows)' : `moved to the ${action} allowed day, at the same local time`}.\n`,
        );
      }
      if (schedule.dst) process.stdout.write(dstSummary(schedule, after, options.dst !== undefined));
    });
}

/** The policy in words and what it does at the next clock changes that touch the expression. */
function dstSummary(schedule: Schedule, after: number, declared: boolean): string {
  const outlook = dstOutlook(schedule, after, declared);
  if (!outlook) return '';
  const policy = `${declared ? 'DST policy' : 'DST policy (default)'}: ${outlook.policy}`;
  if (outlook.changes.length === 0) {
    return `\n${policy}.\nNo clock change in ${outlook.zone} in the next two years skips or repeats a time it matches.\n`;
  }
  const lines = outlook.changes.map((c) => `  ${c.text}`);
  return `\n${policy}.\nNext clock changes in ${outlook.zone} that touch it:\n${lines.join('\n')}\n`;
}

/** The spec's calendar fields from the options. */
function calendarOptions(options: NextOptions): Record<string, unknown> {
  const names = (options.calendars ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (options.excludeWeekdays !== undefined || options.excludeDays !== undefined) names.push(AD_HOC);
  return names.length === 0
    ? {}
    : { calendars: names, ...(options.onExcluded ? { onExcluded: options.onExcluded } : {}) };
}

/** Where the named calendars are found: the database (read-only) for --calendars, the options for the rest. */
async function calendarLookupFor(options: NextOptions): Promise<CalendarLookup | undefined> {
  const adHoc =
    options.excludeWeekdays !== undefined || options.excludeDays !== undefined
      ? asCliError(() =>
          Calendar.compile({
            name: AD_HOC,
            weekdays: (options.excludeWeekdays ?? '').split(',').filter((w) => w.trim() !== ''),
            days: (options.excludeDays ?? '')
              .split(',')
              .filter((d) => d.trim() !== '')
              .map((d) => {
                const [from = '', to = from] = d.trim().split('..');
                return { from, to };
              }),
          }),
        )
      : undefined;
  let stored: CalendarLookup = () => undefined;
  if (options.calendars?.trim()) {
    const { previewDatabase } = await import('../database.ts');
    const { calendarLookup } = await import('../../db/sql/calendars.ts');
    stored = await previewDatabase(async (database) => {
      if (!database) {
        throw new CliError(
          '--calendars reads the calendars from the database, which is not migrated: run beat migrate, or use --exclude-weekdays/--exclude-days',
          1,
        );
      }
      return (
        await calendarLookup(
          database.db,
          options.calendars!.split(',').map((n) => n.trim()),
        )
      ).lookup;
    });
  }
  return (name) => (name === AD_HOC ? adHoc : stored(name));
}
