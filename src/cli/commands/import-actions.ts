/** What `beat import celery` and `beat import django-celery-beat` do (src/cli/commands/import.ts). */
import { loadConfig } from '../../config.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../../db/database.ts';
import { type ApplyOptions, applyImport } from '../../import/apply.ts';
import { type CeleryAppSource, celeryAppTimes } from '../../import/celery-app.ts';
import { type CeleryTimes, type CheckSubject, checkTimes } from '../../import/check/check.ts';
import { writeDeclarationFile } from '../../import/declaration-file.ts';
import { djangoTimes } from '../../import/django-times.ts';
import { ImportProblemsError, type ReadyEntry } from '../../import/entry.ts';
import { loadCeleryApp } from '../../import/load-celery.ts';
import { loadPeriodicTasks } from '../../import/load-django.ts';
import { PythonHelperError } from '../../import/python.ts';
import { renderDeclarations, whyNotDeclarable } from '../../import/render.ts';
import { MissingTablesError } from '../../import/sql/read-periodic-tasks.ts';
import { OVERLAP_POLICIES, type OverlapPolicy } from '../../model/index.ts';
import { cliActor } from '../../operate/actor.ts';
import { parseDuration, parseInstant, ZoneRules } from '../../time/index.ts';
import { withDatabase } from '../database.ts';
import { asCliError, CliError } from '../errors.ts';
import {
  formatCheck,
  formatFileChanges,
  formatImportPlan,
  formatNotes,
  problemsError,
  summarizeActions,
} from '../import-output.ts';
import { print, printJson } from '../output.ts';

import { DEFAULT_OUT } from './import.ts';

export interface CommonOptions {
  dryRun?: boolean;
  check?: boolean;
  python: string;
  window: string;
  from?: string;
  overlap?: string;
  catchupWindow?: string;
  json?: boolean;
}

export interface CeleryOptions extends CommonOptions {
  app: string;
  out?: string;
  toDb?: boolean;
  scheduleFile?: string;
}

export interface DjangoOptions extends CommonOptions {
  databaseUrl?: string;
  timezone: string;
}

function defaultsFrom(options: CommonOptions): { overlap?: OverlapPolicy; catchupWindow?: string } {
  const defaults: { overlap?: OverlapPolicy; catchupWindow?: string } = {};
  if (options.overlap !== undefined) {
    if (!(OVERLAP_POLICIES as readonly string[]).includes(options.overlap)) {
      throw new CliError(
        `--overlap ${JSON.stringify(options.overlap)} is invalid: use ${OVERLAP_POLICIES.join(', ')}`,
      );
    }
    defaults.overlap = options.overlap as OverlapPolicy;
  }
  if (options.catchupWindow !== undefined) {
    asCliError(() => parseDuration(options.catchupWindow, '--catchup-window'));
    defaults.catchupWindow = options.catchupWindow;
  }
  return defaults;
}

function checkWindow(options: CommonOptions): { from: number; to: number } {
  const from =
    options.from === undefined ? Date.now() : asCliError(() => parseInstant(options.from, '--from'));
  return { from, to: from + asCliError(() => parseDuration(options.window, '--window')) };
}

/** Turn the importer's failures into one-line CLI errors. */
async function guarded<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ImportProblemsError) throw problemsError(error.problems, what);
    if (error instanceof PythonHelperError || error instanceof MissingTablesError)
      throw new CliError(error.message, 2);
    throw error;
  }
}

export async function importCelery(options: CeleryOptions): Promise<void> {
  if (options.out !== undefined && options.toDb) throw new CliError('give --out FILE or --to-db, not both');
  if (options.check && (options.out !== undefined || options.toDb)) {
    throw new CliError('--check only compares and writes nothing: run it without --out and --to-db');
  }
  const defaults = defaultsFrom(options);
  const source: CeleryAppSource = {
    app: options.app,
    python: options.python,
    scheduleFile: options.scheduleFile,
  };
  const what = `beat import celery --app ${options.app}`;
  const loaded = await guarded(what, () => loadCeleryApp(source, Date.now(), defaults));
  if (options.check) {
    const subjects = loaded.entries.map((entry) => ({
      entry,
      clockZone: loaded.clockZones.get(entry.name) ?? null,
    }));
    await runCheck(
      subjects,
      (requests) => celeryAppTimes(source, requests),
      options,
      `Celery (${options.app})`,
    );
    return;
  }
  const warnings = loaded.dump.warnings;
  if (options.toDb) {
    await importRows(
      loaded.entries,
      { source: `celery ${options.app}`, dryRun: options.dryRun ?? false, actor: cliActor() },
      options,
      warnings,
    );
    return;
  }
  const file = options.out ?? DEFAULT_OUT;
  // An entry whose numbers a declaration would change is imported as a row instead, and said so.
  const asRows = loaded.entries.filter((e) => whyNotDeclarable(e) !== null);
  const declared = loaded.entries.filter((e) => whyNotDeclarable(e) === null);
  const text = renderDeclarations(declared, {
    from: `the Celery app ${options.app} (its beat_schedule)`,
    command: `beat import celery --app ${options.app}${options.out ? ` --out ${options.out}` : ''}`,
    warnings,
    asRows,
  });
  const dryRun = options.dryRun ?? false;
  const rows =
    asRows.length === 0
      ? null
      : await withDatabase(async (database) => ({
          target: database.target,
          plan: await guarded('beat import', () =>
            applyImport(database, asRows, { source: `celery ${options.app}`, dryRun, actor: cliActor() }),
          ),
        }));
  const changes = writeDeclarationFile(file, text, dryRun);
  if (options.json) {
    printJson({
      file,
      dryRun,
      changes,
      entries: entriesJson(declared),
      ...(rows
        ? {
            rows: {
              target: rows.target,
              plan: rows.plan.actions.map(
                ({ entry: _e, ...rest }: { entry?: unknown } & Record<string, unknown>) => rest,
              ),
              entries: entriesJson(asRows),
            },
          }
        : {}),
      warnings,
    });
    return;
  }
  if (dryRun) print(text);
  const asRowsText = rows
    ? [
        ...asRows.map((e) => `  ${e.name}: imported as a row: ${whyNotDeclarable(e)}`),
        formatImportPlan(rows.plan.actions, `celery ${options.app}`),
        `${dryRun ? 'Would write' : 'Wrote'} ${asRows.length} row${asRows.length === 1 ? '' : 's'} in ${rows.target}.`,
      ].join('\n')
    : '';
  const notes = formatNotes(loaded.entries, warnings);
  print([formatFileChanges(file, changes, dryRun), asRowsText, notes].filter(Boolean).join('\n'));
}

export async function importDjango(options: DjangoOptions): Promise<void> {
  const defaults = defaultsFrom(options);
  asCliError(() => ZoneRules.get(options.timezone, '--timezone'));
  const what = 'beat import django-celery-beat';
  const url = options.databaseUrl ?? asCliError(() => loadConfig()).databaseUrl;
  if (!url) {
    throw new CliError(
      "give --database-url (your Django database, postgres://...): Metronome's own database is the embedded PGlite, which has no django-celery-beat tables",
    );
  }
  const loaded = await withSourceDatabase(url, (source) =>
    guarded(what, () => loadPeriodicTasks(source, Date.now(), defaults)),
  );
  if (options.check) {
    const subjects = loaded.entries.map((entry) => ({ entry, clockZone: options.timezone }));
    await runCheck(
      subjects,
      djangoTimes(loaded.rows, options.python, options.timezone),
      options,
      'django-celery-beat',
    );
    return;
  }
  await importRows(
    loaded.entries,
    { source: 'django-celery-beat', dryRun: options.dryRun ?? false, actor: cliActor() },
    options,
    [],
  );
}

async function withSourceDatabase<T>(url: string, fn: (database: Database) => Promise<T>): Promise<T> {
  if (!/^postgres(ql)?:\/\//.test(url))
    throw new CliError('--database-url must start with postgres:// or postgresql://');
  let database: Database;
  try {
    database = await openDatabase({ databaseUrl: url, dataDir: '' });
  } catch (error) {
    if (error instanceof DatabaseConnectError) throw new CliError(error.message, 1);
    throw error;
  }
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function importRows(
  entries: ReadyEntry[],
  apply: ApplyOptions,
  options: CommonOptions,
  warnings: string[],
): Promise<void> {
  await withDatabase(async (database) => {
    const plan = await guarded('beat import', () => applyImport(database, entries, apply));
    const counts = summarizeActions(plan.actions);
    if (options.json) {
      printJson({
        target: database.target,
        source: apply.source,
        dryRun: apply.dryRun,
        plan: plan.actions.map(
          ({ entry: _entry, ...rest }: { entry?: unknown } & Record<string, unknown>) => rest,
        ),
        summary: counts,
        entries: entriesJson(entries),
        warnings,
      });
      return;
    }
    const summary = `${counts.create} to create, ${counts.update} to update, ${counts.unchanged} unchanged`;
    const orphans = counts.orphan > 0 ? `; ${counts.orphan} no longer in ${apply.source} (kept)` : '';
    const done = apply.dryRun
      ? `Plan for ${database.target}: ${summary}${orphans}. Dry run: nothing written.`
      : `Imported into ${database.target}: ${summary.replaceAll('to ', '').replace('create', 'created').replace('update', 'updated')}${orphans}.`;
    print(
      [formatImportPlan(plan.actions, apply.source), formatNotes(entries, warnings), done]
        .filter(Boolean)
        .join('\n'),
    );
  });
}

async function runCheck(
  subjects: CheckSubject[],
  celeryTimes: CeleryTimes,
  options: CommonOptions,
  against: string,
): Promise<void> {
  const report = await guarded('beat import --check', () =>
    checkTimes(subjects, celeryTimes, checkWindow(options)),
  );
  if (options.json) printJson(report);
  else print(formatCheck(report, against));
  process.exitCode = report.equal ? 0 : 1;
}

function entriesJson(entries: ReadyEntry[]) {
  return entries.map((e) => ({ name: e.name, origin: e.origin, notes: e.notes, lastRunAt: e.lastRunAt }));
}
