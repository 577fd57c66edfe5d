/**
 * `beat calendar list|show|import|add-day|remove-day|weekdays|delete`: business calendars kept in
 * the database (docs/schedules.md, "Business calendars"). A calendar declared in code
 * (`defineCalendar`) is shown, and its edits refused with the file to edit. Every edit applies at
 * once to the schedules that name the calendar: the leader re-plans them.
 */
import type { Command } from 'commander';
import { cliActor } from '../../operate/actor.ts';
import type { CalendarEdit, CalendarStep } from '../../operate/calendar.ts';
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
    .option('--preview', PREVIEW)
    .option('--json', 'print JSON')
    .action(
      async (
        name: string,
        file: string,
        options: EditOptions & { merge?: boolean; until?: string; weekdays?: string },
      ) => {
        const { readFile } = await import('node:fs/promises');
        const { IcsError, parseIcsDays } = await import('../../import/ics-calendar.ts');
        const { checkWeekdays, importDaysStep } = await import('../../operate/calendar.ts');
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
        const step = importDaysStep(name, parsed.days, {
          merge: options.merge ?? false,
          ...(weekdays ? { weekdays } : {}),
          ...(parsed.title ? { description: parsed.title } : {}),
        });
        await applyOrPreview(step, options, (edit) =>
          options.json
            ? { ...edit, events: parsed.events, occurrences: parsed.occurrences, until }
            : `${edit.created ? 'created' : options.merge ? 'merged into' : 'replaced the days of'} calendar ${name}: ${parsed.events} event(s), ${parsed.occurrences} occurrence(s) up to ${until}, ${edit.days} day entr${edit.days === 1 ? 'y' : 'ies'}${usedBy(edit)}`,
        );
      },
    );

  calendar
    .command('add-day')
    .description('exclude a day, or a range FROM..TO (inclusive); creates the calendar if missing')
    .argument('<name>', 'calendar name')
    .argument('<day>', 'YYYY-MM-DD, or YYYY-MM-DD..YYYY-MM-DD')
    .option('--label <text>', 'why (a holiday’s name), shown by show and next')
    .option('--preview', PREVIEW)
    .option('--json', 'print JSON')
    .action(async (name: string, day: string, options: EditOptions & { label?: string }) => {
      const { addDaysStep } = await import('../../operate/calendar.ts');
      const [from = '', to = from] = day.split('..');
      const step = addDaysStep(name, { from, to, ...(options.label ? { label: options.label } : {}) });
      await applyOrPreview(step, options, (edit) =>
        options.json
          ? edit
          : `${edit.created ? 'created calendar' : 'calendar'} ${name} excludes ${from === to ? from : `${from} to ${to}`}${usedBy(edit)}`,
      );
    });

  calendar
    .command('remove-day')
    .description('allow a day again (a range that holds it is split around it)')
    .argument('<name>', 'calendar name')
    .argument('<day>', 'YYYY-MM-DD')
    .option('--preview', PREVIEW)
    .option('--json', 'print JSON')
    .action(async (name: string, day: string, options: EditOptions) => {
      const { removeDayStep } = await import('../../operate/calendar.ts');
      await applyOrPreview(removeDayStep(name, day), options, (edit) =>
        options.json ? edit : `calendar ${name} allows ${day} again${usedBy(edit)}`,
      );
    });

  calendar
    .command('weekdays')
    .description('set the weekdays a calendar excludes, e.g. sat,sun ("" for none); creates it if missing')
    .argument('<name>', 'calendar name')
    .argument('<list>', 'weekdays: names or 0-6 (0 = Sunday), comma-separated')
    .option('--preview', PREVIEW)
    .option('--json', 'print JSON')
    .action(async (name: string, list: string, options: EditOptions) => {
      const { weekdaysStep } = await import('../../operate/calendar.ts');
      const step = weekdaysStep(name, list.trim() === '' ? [] : list.split(','));
      await applyOrPreview(step, options, (edit) =>
        options.json
          ? edit
          : `${edit.created ? 'created calendar' : 'calendar'} ${name} excludes weekdays ${list || 'none'}${usedBy(edit)}`,
      );
    });

  calendar
    .command('delete')
    .description('delete a calendar kept in the database (refused while schedules name it, unless --force)')
    .argument('<name>', 'calendar name')
    .option('--force', 'delete even though schedules name it (they are quarantined until it exists again)')
    .option('--preview', PREVIEW)
    .option('--json', 'print JSON')
    .action(async (name: string, options: EditOptions & { force?: boolean }) => {
      const { deleteStep } = await import('../../operate/calendar.ts');
      await applyOrPreview(deleteStep(name, { force: options.force ?? false }), options, (edit) =>
        options.json
          ? { ...edit, deleted: true }
          : `deleted calendar ${name}${edit.schedules.length > 0 ? `; quarantined until it exists again: ${edit.schedules.join(', ')}` : ''}`,
      );
    });
}

const PREVIEW =
  'show, for each schedule that names the calendar, its next fires before and after; write nothing';

interface EditOptions {
  preview?: boolean;
  json?: boolean;
}

/**
 * Apply the edit and print what `answer` makes of it (text, or a value printed as JSON); with
 * --preview, print each schedule's fires before and after instead, having written nothing.
 */
async function applyOrPreview(
  step: CalendarStep,
  options: EditOptions,
  answer: (edit: CalendarEdit) => string | object,
): Promise<void> {
  const { withDatabase } = await import('../database.ts');
  await withDatabase(async (database) => {
    if (options.preview) {
      const { previewCalendarEdit } = await import('../../observe/calendar-preview.ts');
      const { formatPreview } = await import('../preview-output.ts');
      const preview = await previewCalendarEdit(database, step);
      if (options.json) return printJson({ preview: true, ...preview });
      if (preview.schedules.length === 0) {
        print(
          `No schedule names calendar ${step.name}: the edit changes no fires. Nothing written (preview).`,
        );
        return;
      }
      for (const p of preview.schedules) print(`${p.name}\n${formatPreview(p)}`);
      print(`Preview of the edit of calendar ${step.name}: nothing written.`);
      return;
    }
    const { applyCalendarEdit } = await import('../../operate/calendar.ts');
    const result = answer(await applyCalendarEdit(database, step, cliActor()));
    if (typeof result === 'string') print(result);
    else printJson(result);
  });
}

function usedBy(edit: CalendarEdit): string {
  return edit.schedules.length > 0 ? `; re-planned: ${edit.schedules.join(', ')}` : '';
}
