/**
 * `beat edit NAME [spec options] [options] [--preview] [--if-version N]`: change the fields given
 * of a database-owned schedule, through the same patch as the API's PATCH and the client's update
 * (src/operate/edit.ts: validated like a declaration, recorded in the audit log, refused for a
 * schedule declared in code with the same message). `--dst` alone (or --tz, --anchor, --lat,
 * --lon) changes that part of the stored spec. `--preview` shows the next fires before and after
 * and what would run at once, and writes nothing.
 */
import type { Command } from 'commander';
import type { Database } from '../../db/database.ts';
import type { DeclarationProblem } from '../../model/index.ts';
import type { EditOptions, SchedulePatch } from '../../operate/edit-plan.ts';
import {
  type DefinitionOptions,
  definitionFromOptions,
  definitionOptions,
  refuseDefinition,
} from '../definition-options.ts';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';
import {
  parseNumberOption,
  type SpecOptions,
  specFromOptions,
  specOptions,
  specPartsGiven,
  specWithParts,
  wholeSpecGiven,
} from '../spec-options.ts';

interface EditCliOptions extends SpecOptions, DefinitionOptions {
  preview?: boolean;
  ifVersion?: string;
  json?: boolean;
}

function refuse(name: string, problems: DeclarationProblem[]): never {
  refuseDefinition('edit', name, problems);
}

export function registerEdit(program: Command): void {
  const command = program
    .command('edit')
    .description('change the given fields of a database-owned schedule (the API’s PATCH)')
    .argument('<name>', 'schedule name')
    .option('--task <task>', "task name, e.g. 'reports.nightly'");
  definitionOptions(specOptions(command, 'option', "IANA time zone of --cron; alone, the crontab's new zone"))
    .option('--preview', 'show the next fires before and after, and what would run at once; write nothing')
    .option('--if-version <n>', 'only if the schedule is still at this version (beat show prints it)')
    .option('--json', 'print the result as JSON')
    .action(async (name: string, o: EditCliOptions) => {
      const { InvalidScheduleError } = await import('../../operate/errors.ts');
      const fields = definitionFromOptions(o);
      if (Object.keys(fields).length === 0 && !wholeSpecGiven(o) && specPartsGiven(o).length === 0) {
        throw new CliError(
          `nothing to change: give the fields to change, e.g. 'beat edit ${name} --queue Q' or '--dst repeated=second'`,
        );
      }
      const ifVersion =
        o.ifVersion === undefined ? undefined : parseNumberOption(o.ifVersion, '--if-version');
      if (ifVersion !== undefined && !Number.isInteger(ifVersion))
        throw new CliError(`--if-version ${o.ifVersion} is not a whole number`);
      const { previewDatabase, withDatabase } = await import('../database.ts');
      const { notFound } = await import('../../operate/errors.ts');
      // A database with no schedules to read (none yet, or not migrated): the name is unknown.
      const open = o.preview
        ? (fn: (database: Database) => Promise<void>) =>
            previewDatabase((database) => {
              if (!database) throw notFound(name);
              return fn(database);
            })
        : withDatabase;
      try {
        await open(async (database) => {
          const { patch, options } = await patchOf(database, name, o, fields, ifVersion);
          const edit: Edit = { database, name, patch, options, json: o.json ?? false };
          await (o.preview ? showPreview(edit) : apply(edit));
        });
      } catch (error) {
        if (error instanceof InvalidScheduleError) refuse(name, error.problems);
        throw error;
      }
    });
}

/**
 * The patch the options make. A part of the spec alone (`--dst`) changes the stored spec, read
 * first: the write then requires the version read, so a change made in between is a conflict,
 * never overwritten with the spec read before it.
 */
async function patchOf(
  database: Database,
  name: string,
  o: EditCliOptions,
  fields: Record<string, unknown>,
  ifVersion: number | undefined,
): Promise<{ patch: SchedulePatch; options: EditOptions }> {
  if (wholeSpecGiven(o)) {
    return { patch: { ...fields, schedule: specFromOptions(o, '--cron') }, options: { ifVersion } };
  }
  if (specPartsGiven(o).length === 0) return { patch: fields, options: { ifVersion } };
  const { findSchedule } = await import('../../db/sql/schedules-read.ts');
  const { specOf } = await import('../../model/index.ts');
  const record = await findSchedule(database.db, name);
  // Unknown (or declared in code): the patch refuses it, with the API's message.
  if (!record || record.managedBy === 'code') return { patch: fields, options: { ifVersion } };
  return {
    patch: { ...fields, schedule: specWithParts(o, specOf(record), name) },
    options: { ifVersion: ifVersion ?? record.version },
  };
}

/** One `beat edit`, decided from its options: what to change, where, and how to print it. */
interface Edit {
  database: Database;
  name: string;
  patch: SchedulePatch;
  options: EditOptions;
  json: boolean;
}

async function apply({ database, name, patch, options, json }: Edit): Promise<void> {
  const { databaseNow } = await import('../../db/store.ts');
  const { cliActor } = await import('../../operate/actor.ts');
  const { patchSchedule } = await import('../../operate/edit.ts');
  const { scheduleInfo } = await import('../../client/schedule.ts');
  const { calendarsOf } = await import('../../db/sql/calendars.ts');
  const { viewRecord } = await import('../../observe/schedule-view.ts');
  const { when } = await import('../schedules.ts');
  const result = await patchSchedule(database, name, patch, cliActor(), options);
  const now = await databaseNow(database);
  const calendars = await calendarsOf(database.db, [result.record]);
  if (json) {
    printJson({
      action: result.action,
      changed: result.changed,
      schedule: scheduleInfo(result.record, now, calendars),
    });
    return;
  }
  const { version } = result.record;
  if (result.action === 'unchanged') {
    print(`${name} unchanged (version ${version}): it already is so; nothing written`);
    return;
  }
  const view = viewRecord(result.record, now, calendars);
  print(
    `edited ${name} (version ${version}): changed ${result.changed.join(', ')}; next fire ${when(view.nextFireAt, view.zone)}`,
  );
}

async function showPreview({ database, name, patch, options, json }: Edit): Promise<void> {
  const { decidePatch } = await import('../../operate/edit-plan.ts');
  const { previewWrite } = await import('../../observe/write-preview.ts');
  const { formatPreview } = await import('../preview-output.ts');
  const result = await previewWrite(database, decidePatch(name, patch, options));
  if (json) {
    printJson(result);
    return;
  }
  const what = result.action === 'unchanged' ? 'unchanged' : `would update ${result.changed.join(', ')}`;
  print(
    `preview of ${name} (nothing written): ${what}, from version ${result.version}\n${formatPreview(result.preview)}`,
  );
}
