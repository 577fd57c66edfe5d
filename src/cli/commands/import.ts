/**
 * `beat import celery --app proj.celery:app [--out schedules/celery.ts | --to-db] [--dry-run] [--check]`
 * `beat import django-celery-beat [--database-url URL] [--dry-run] [--check]`
 *
 * Move from celery beat: the schedules of a Celery app's beat_schedule (into a declaration file, or
 * rows) or of django-celery-beat's tables (into rows), with celery beat's last runs carried over so
 * the first Metronome fire is the next one celery beat would have made; `--check` compares the fire
 * times with Celery's own code first. See docs/migrating.md and src/import/.
 *
 * Only the options are defined here: the importer is loaded when the command runs, so every other
 * command starts without it.
 */
import type { Command } from 'commander';
import type { CeleryOptions, DjangoOptions } from './import-actions.ts';

export const DEFAULT_OUT = 'schedules/celery.ts';

export function registerImport(program: Command): void {
  const command = program
    .command('import')
    .description('move from celery beat: import its schedules, with their last runs, and check the times');
  common(
    command
      .command('celery')
      .description("import a Celery app's beat_schedule into a declaration file (default) or rows")
      .requiredOption('--app <module:attribute>', 'the Celery app, as `celery -A` takes it (proj.celery:app)')
      .option('--out <file>', `write the declarations to this file (default ${DEFAULT_OUT})`)
      .option('--to-db', 'write database-owned rows instead of a file')
      .option(
        '--schedule-file <path>',
        "celery beat's schedule file (celerybeat-schedule): carry each entry's last run over",
      ),
  ).action(async (options: CeleryOptions) => (await import('./import-actions.ts')).importCelery(options));
  common(
    command
      .command('django-celery-beat')
      .description("import django-celery-beat's periodic tasks into rows, with their last runs")
      .option('--database-url <url>', "the Django database (default: Metronome's DATABASE_URL)")
      .option('--timezone <zone>', "the project's CELERY_TIMEZONE / TIME_ZONE (for --check)", 'UTC'),
  ).action(async (options: DjangoOptions) => (await import('./import-actions.ts')).importDjango(options));
}

function common(command: Command): Command {
  return command
    .option('--dry-run', 'show what would be written and write nothing')
    .option('--check', "compare the next fires with Celery's own code over the window; write nothing")
    .option('--python <path>', 'the Python interpreter of your Celery app', 'python3')
    .option('--window <duration>', 'how far ahead --check compares', '400d')
    .option('--from <instant>', '--check from this instant (default now)')
    .option(
      '--overlap <policy>',
      'overlap policy of the imported schedules: skip (default), allow, buffer_one',
    )
    .option('--catchup-window <duration>', "how far back the imported schedules catch up (default '1h')")
    .option('--json', 'print the result as JSON');
}
