/**
 * `beat add NAME --task T (--cron EXPR --tz Z | --every D [--anchor I] | --solar E --lat N --lon N
 * | --at I) [options]`: create a database-owned schedule (`managed_by = 'db'`), validated exactly
 * like a declaration, through src/operate/ (the same operation as the client's create, recorded in
 * the audit log). `beat sync` never touches it; `beat remove` deletes it.
 */
import type { Command } from 'commander';
import type { DeclarationProblem, ScheduleFields } from '../../model/index.ts';
import type { SchedulePreview } from '../../observe/preview.ts';
import {
  type DefinitionOptions,
  definitionFromOptions,
  definitionOptions,
  refuseDefinition,
} from '../definition-options.ts';
import { print, printJson } from '../output.ts';
import { type SpecOptions, specFromOptions, specOptions } from '../spec-options.ts';

interface AddOptions extends SpecOptions, DefinitionOptions {
  disabled?: boolean;
  preview?: boolean;
  json?: boolean;
}

function refuse(name: string, problems: DeclarationProblem[]): never {
  refuseDefinition('add', name, problems);
}

export function registerAdd(program: Command): void {
  const command = program
    .command('add')
    .description('create a database-owned schedule (sync never touches it)')
    .argument('<name>', 'unique schedule name')
    .requiredOption('--task <task>', "task name, e.g. 'reports.nightly'");
  definitionOptions(specOptions(command, 'option', 'IANA time zone of --cron (required with it)'))
    .option('--disabled', 'create it disabled')
    .option('--preview', 'show its next fires (local, UTC, DST) and what would run at once; write nothing')
    .option('--json', 'print the created schedule as JSON')
    .action(async (name: string, o: AddOptions) => {
      const { databaseNow } = await import('../../db/store.ts');
      const { cliActor } = await import('../../operate/actor.ts');
      const { checkDeclarationInput } = await import('../../operate/declaration.ts');
      const { createSchedule } = await import('../../operate/edit.ts');
      const { InvalidScheduleError } = await import('../../operate/errors.ts');
      const { withDatabase } = await import('../database.ts');
      const { recordJson, viewRecord } = await import('../../observe/schedule-view.ts');
      const { when } = await import('../schedules.ts');
      const input = declarationFromOptions(name, o);
      // Checked before the database is opened: a mistake is reported without a connection.
      const checked = checkDeclarationInput(input, Date.now());
      if (!checked.ok) refuse(name, checked.problems);
      if (o.preview) {
        // Nothing is written, not even a migration.
        const { formatPreview } = await import('../preview-output.ts');
        const preview = await previewCreate(name, input, checked.value.fields);
        if (o.json) printJson({ preview });
        else print(`preview of ${name} (nothing written):\n${formatPreview(preview)}`);
        return;
      }
      await withDatabase(async (database) => {
        let record: Awaited<ReturnType<typeof createSchedule>>;
        try {
          record = await createSchedule(database, input as never, cliActor(), 'beat add');
        } catch (error) {
          if (error instanceof InvalidScheduleError) refuse(name, error.problems);
          throw error;
        }
        const { calendarsOf } = await import('../../db/sql/calendars.ts');
        const view = viewRecord(
          record,
          await databaseNow(database),
          await calendarsOf(database.db, [record]),
        );
        if (o.json) printJson(recordJson(view));
        else print(`added ${name} (managed by db): next fire ${when(view.nextFireAt, view.zone)}`);
      });
    });
}

/**
 * The preview of the create, decided against the database as the add would be (a name that exists
 * is refused); with no schedules to read (no database yet, or not migrated), from nothing.
 */
async function previewCreate(
  name: string,
  input: Record<string, unknown>,
  fields: ScheduleFields,
): Promise<SchedulePreview> {
  const { previewDatabase } = await import('../database.ts');
  const { previewEdit } = await import('../../observe/preview.ts');
  const { ANY_CALENDAR } = await import('../../model/validate.ts');
  const { previewWrite } = await import('../../observe/write-preview.ts');
  const { decideCreate } = await import('../../operate/edit-plan.ts');
  return previewDatabase(async (database) =>
    database
      ? (await previewWrite(database, decideCreate(input as never))).preview
      : // No database: the calendars it names are taken as excluding nothing.
        previewEdit({ name, before: null, after: fields, now: Date.now(), calendars: ANY_CALENDAR }),
  );
}

/** The declaration the options describe, as `defineSchedule` would take it (checked later). */
function declarationFromOptions(name: string, o: AddOptions): Record<string, unknown> {
  return {
    name,
    schedule: specFromOptions(o, '--cron'),
    ...definitionFromOptions(o),
    enabled: !o.disabled,
  };
}
