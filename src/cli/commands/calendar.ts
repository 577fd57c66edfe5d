/**
 * `beat calendar list|show|import|add-day|remove-day|weekdays|delete`: business calendars kept in
 * the database (docs/schedules.md, "Business calendars"). A calendar declared in code
 * (`defineCalendar`) is shown, and its edits refused with the file to edit. Every edit applies at
 * once to the schedules that name the calendar: the leader re-plans them.
 */
import type { Command } from 'commander';
import { cliActor } from '../../operate/actor.ts';
import type { CalendarEdit } from '../../operate/calendar.ts';
import { CliError } from '../errors.ts';
import { table } from '../format.ts';
import { print, printJson } from '../output.ts';

const DAY_MS = 86_400_000;
const today = () => Math.floor(Date.now() / DAY_MS);

export function registerCalendar(program: Command): void {
  const calendar = program
    .command('calendar')
    .description('business calendars: days on which the schedules that name them do not fire');

  calendar
    .command('list')
    .description('list the calendars, what they exclude and their next excluded days')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const { listCalendars } = await import('../../observe/calendars.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const calendars = await listCalendars(database, today());
        if (options.json) return printJson(calendars);
        if (calendars.length === 0) {
          print(
            `No calendars in ${database.target}. Create one with 'beat calendar import NAME FILE.ics' or 'beat calendar add-day NAME DAY'.`,
          );
          return;
        }
        print(
          table(
            ['NAME', 'OWNER', 'WEEKDAYS', 'DAYS', 'NEXT EXCLUDED'],
            calendars.map((c) => [
              c.name,
              c.managedBy === 'code' ? `code (${c.source ?? '?'})` : 'db',
              c.weekdays.join(',') || '-',
              String(c.dayEntries),
              c.problem ? `invalid: ${c.problem}` : c.upcoming.map((u) => u.day).join(', ') || '-',
            ]),
          ),
        );
      });
    });

  calendar
    .command('show')
    .description('show a calendar: its weekdays, its days with their labels, the schedules that name it')
    .argument('<name>', 'calendar name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const { calendarDetail } = await import('../../observe/calendars.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const detail = await calendarDetail(database, name, today());
        if (!detail)
          throw new CliError(`no calendar named ${JSON.stringify(name)} (beat calendar list shows them)`, 1);
        if (options.json) return printJson(detail);
        print(
          [
            `calendar ${detail.name}${detail.description ? ` — ${detail.description}` : ''}`,
            `  owner      ${detail.managedBy === 'code' ? `code (${detail.source ?? '?'})` : 'db'}`,
            `  weekdays   ${detail.weekdays.join(', ') || 'none excluded'}`,
            `  schedules  ${detail.schedules.join(', ') || 'none name it'}`,
            ...(detail.problem ? [`  invalid    ${detail.problem}`] : []),
            `  days       ${detail.days.length === 0 ? 'none' : ''}`,
          ].join('\n'),
        );
        if (detail.days.length > 0) {
          print(
            table(
              ['FROM', 'TO', 'LABEL'],
              detail.days.map((d) => [d.from, d.to, d.label ?? '']),
            )
              .split('\n')
              .map((l) => `    ${l}`)
              .join('\n'),
          );
        }
      });
    });

  calendar
    .command('import')
    .description('read the excluded days of a calendar from an iCalendar (.ics) file (public holidays)')
    .argument('<name>', 'calendar name (created if missing)')
    .argument('<file>', 'the .ics file')
    .option('--merge', "add the file's days to the calendar's instead of replacing them")
    .option(
      '--until <day>',
      'expand recurring events up to this day (YYYY-MM-DD); default: the end of the year 10 years on',
    )
    .option('--weekdays <list>', 'also exclude these weekdays, e.g. sat,sun')
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        file: string,
        options: { merge?: boolean; until?: string; weekdays?: string; json?: boolean },
      ) => {
        const { readFile } = await import('node:fs/promises');
        const { IcsError, parseIcsDays } = await import('../../import/ics-calendar.ts');
        const { checkWeekdays, importCalendarDays } = await import('../../operate/calendar.ts');
        const { withDatabase } = await import('../database.ts');
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (error) {
          throw new CliError(`cannot read ${file}: ${(error as Error).message}`, 2);
        }
        const until = options.until ?? `${new Date().getUTCFullYear() + 10}-12-31`;
        if (!/^\d{4}-\d{2}-\d{2}$/.test(until) || Number.isNaN(Date.parse(until))) {
          throw new CliError(`--until ${JSON.stringify(until)} is not a day; write it YYYY-MM-DD`, 2);
        }
        let parsed: ReturnType<typeof parseIcsDays>;
        try {
          parsed = parseIcsDays(text, until);
        } catch (error) {
          if (error instanceof IcsError) throw new CliError(`${file}: ${error.message}`, 2);
          throw error;
        }
        const weekdays =
          options.weekdays === undefined ? undefined : checkWeekdays(options.weekdays.split(','));
        await withDatabase(async (database) => {
          const edit = await importCalendarDays(database, name, parsed.days, cliActor(), {
            merge: options.merge ?? false,
            ...(weekdays ? { weekdays } : {}),
            ...(parsed.title ? { description: parsed.title } : {}),
          });
          if (options.json) {
            return printJson({ ...edit, events: parsed.events, occurrences: parsed.occurrences, until });
          }
          print(
            `${edit.created ? 'created' : options.merge ? 'merged into' : 'replaced the days of'} calendar ${name}: ${parsed.events} event(s), ${parsed.occurrences} occurrence(s) up to ${until}, ${edit.days} day entr${edit.days === 1 ? 'y' : 'ies'}${usedBy(edit)}`,
          );
        });
      },
    );

  calendar
    .command('add-day')
    .description('exclude a day, or a range FROM..TO (inclusive); creates the calendar if missing')
    .argument('<name>', 'calendar name')
    .argument('<day>', 'YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD')
    .option('--label <text>', 'why (a holiday’s name), shown by show and next')
    .option('--json', 'print JSON')
    .action(async (name: string, day: string, options: { label?: string; json?: boolean }) => {
      const { addCalendarDays } = await import('../../operate/calendar.ts');
      const { withDatabase } = await import('../database.ts');
      const [from = '', to = from] = day.split('..');
      await withDatabase(async (database) => {
        const edit = await addCalendarDays(
          database,
          name,
          {
            from,
            to,
            ...(options.label ? { label: options.label } : {}),
          },
          cliActor(),
        );
        if (options.json) return printJson(edit);
        print(
          `${edit.created ? 'created calendar' : 'calendar'} ${name} excludes ${from === to ? from : `${from} to ${to}`}${usedBy(edit)}`,
        );
      });
    });

  calendar
    .command('remove-day')
    .description('allow a day again (a range that holds it is split around it)')
    .argument('<name>', 'calendar name')
    .argument('<day>', 'YYYY-MM-DD')
    .option('--json', 'print JSON')
    .action(async (name: string, day: string, options: { json?: boolean }) => {
      const { removeCalendarDays } = await import('../../operate/calendar.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const edit = await removeCalendarDays(database, name, day, cliActor());
        if (options.json) return printJson(edit);
        print(`calendar ${name} allows ${day} again${usedBy(edit)}`);
      });
    });

  calendar
    .command('weekdays')
    .description('set the weekdays a calendar excludes, e.g. sat,sun ("" for none); creates it if missing')
    .argument('<name>', 'calendar name')
    .argument('<list>', 'weekdays: names or 0-6 (0 = Sunday), comma-separated')
    .option('--json', 'print JSON')
    .action(async (name: string, list: string, options: { json?: boolean }) => {
      const { setCalendarWeekdays } = await import('../../operate/calendar.ts');
      const { withDatabase } = await import('../database.ts');
      const weekdays = list.trim() === '' ? [] : list.split(',');
      await withDatabase(async (database) => {
        const edit = await setCalendarWeekdays(database, name, weekdays, cliActor());
        if (options.json) return printJson(edit);
        print(
          `${edit.created ? 'created calendar' : 'calendar'} ${name} excludes weekdays ${list || 'none'}${usedBy(edit)}`,
        );
      });
    });

  calendar
    .command('delete')
    .description('delete a calendar kept in the database (refused while schedules name it, unless --force)')
    .argument('<name>', 'calendar name')
    .option('--force', 'delete even though schedules name it (they are quarantined until it exists again)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { force?: boolean; json?: boolean }) => {
      const { removeCalendar } = await import('../../operate/calendar.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const edit = await removeCalendar(database, name, cliActor(), { force: options.force ?? false });
        if (options.json) return printJson({ ...edit, deleted: true });
        print(
          `deleted calendar ${name}${edit.schedules.length > 0 ? `; quarantined until it exists again: ${edit.schedules.join(', ')}` : ''}`,
        );
      });
    });
}

function usedBy(edit: CalendarEdit): string {
  return edit.schedules.length > 0 ? `; re-planned: ${edit.schedules.join(', ')}` : '';
}
