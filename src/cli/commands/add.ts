/**
 * `beat add NAME --task T (--cron EXPR --tz Z | --every D [--anchor I] | --solar E --lat N --lon N
 * | --at I) [options]`: create a database-owned schedule (`managed_by = 'db'`), validated exactly
 * like a declaration, through src/operate/ (the same operation as the client's create, recorded in
 * the audit log). `beat sync` never touches it; `beat remove` deletes it.
 */
import type { Command } from 'commander';
import type { DeclarationProblem } from '../../model/index.ts';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';
import {
  durationOption,
  parseJsonOption,
  parseNumberOption,
  type SpecOptions,
  specFromOptions,
  specOptions,
} from '../spec-options.ts';

interface AddOptions extends SpecOptions {
  task?: string;
  args?: string;
  kwargs?: string;
  headers?: string;
  queue?: string;
  routingKey?: string;
  priority?: string;
  expires?: string;
  timeLimit?: string;
  softTimeLimit?: string;
  disabled?: boolean;
  startAt?: string;
  endAt?: string;
  maxRuns?: string;
  overlap?: string;
  catchup?: string;
  catchupWindow?: string;
  jitter?: string;
  runLease?: string;
  description?: string;
  preview?: boolean;
  json?: boolean;
}

/** Declaration field → the flag that sets it, so problems name what the operator typed. */
const FLAG: Record<string, string> = {
  name: 'NAME',
  'schedule.cron': '--cron',
  'schedule.tz': '--tz',
  'schedule.every': '--every',
  'schedule.anchor': '--anchor',
  'schedule.event': '--solar',
  'schedule.latitude': '--lat',
  'schedule.longitude': '--lon',
  'schedule.runAt': '--at',
  'schedule.dst': '--dst',
  'schedule.dst.repeated': '--dst',
  'schedule.dst.missing': '--dst',
};
const flagOf = (field: string) =>
  FLAG[field] ?? `--${field.split('.')[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Refuse with every problem on a line of its own, naming the flag (and the key inside a JSON flag). */
function refuse(name: string, problems: DeclarationProblem[]): never {
  const lines = problems.map(
    (p) =>
      `  ${flagOf(p.field)}${p.field.includes('.') && !p.field.startsWith('schedule.') ? ` (${p.field})` : ''}: ${p.reason}`,
  );
  throw new CliError(`cannot add ${JSON.stringify(name)}:\n${lines.join('\n')}`);
}

export function registerAdd(program: Command): void {
  const command = program
    .command('add')
    .description('create a database-owned schedule (sync never touches it)')
    .argument('<name>', 'unique schedule name')
    .requiredOption('--task <task>', "task name, e.g. 'reports.nightly'");
  specOptions(command, 'option', 'IANA time zone of --cron (required with it)')
    .option('--args <json>', 'positional arguments, a JSON array', '[]')
    .option('--kwargs <json>', 'keyword arguments, a JSON object', '{}')
    .option('--headers <json>', 'extra message headers, a JSON object', '{}')
    .option('--queue <queue>', 'target queue (default: routing decides)')
    .option('--routing-key <key>', 'AMQP routing key')
    .option('--priority <0-9>', 'message priority')
    .option('--expires <duration>', "drop a run not started within this long, e.g. '10m'")
    .option('--time-limit <duration>', "Celery hard time limit, e.g. '5m'")
    .option('--soft-time-limit <duration>', 'Celery soft time limit')
    .option('--disabled', 'create it disabled')
    .option('--start-at <instant>', 'no fire before this instant')
    .option('--end-at <instant>', 'no fire after this instant')
    .option('--max-runs <n>', 'stop after this many runs')
    .option('--overlap <policy>', 'skip (default), allow or buffer_one')
    .option('--catchup <policy>', 'latest (default), skip or all')
    .option('--catchup-window <duration>', "how far back catch-up looks (default '1h')")
    .option('--jitter <duration>', 'spread fires by up to this much')
    .option('--run-lease <duration>', 'longest run-lock hold when completion is never seen')
    .option('--description <text>', 'free text')
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
        const { previewEdit } = await import('../../observe/preview.ts');
        const { formatPreview } = await import('../preview-output.ts');
        const preview = previewEdit({ name, before: null, after: checked.value.fields, now: Date.now() });
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
        const view = viewRecord(record, await databaseNow(database));
        if (o.json) printJson(recordJson(view));
        else print(`added ${name} (managed by db): next fire ${when(view.nextFireAt, view.zone)}`);
      });
    });
}

/** The declaration the options describe, as `defineSchedule` would take it (checked later). */
function declarationFromOptions(name: string, o: AddOptions): Record<string, unknown> {
  return {
    name,
    task: o.task,
    schedule: specFromOptions(o, '--cron'),
    // Exact: `--args '[12345678901234567890]'` is stored (and sent) as written.
    args: parseJsonOption(o.args, '--args', true),
    kwargs: parseJsonOption(o.kwargs, '--kwargs', true),
    headers: parseJsonOption(o.headers, '--headers', true),
    queue: o.queue,
    routingKey: o.routingKey,
    priority: o.priority === undefined ? undefined : parseNumberOption(o.priority, '--priority'),
    expires: durationOption(o.expires),
    timeLimit: durationOption(o.timeLimit),
    softTimeLimit: durationOption(o.softTimeLimit),
    enabled: !o.disabled,
    startAt: o.startAt,
    endAt: o.endAt,
    maxRuns: o.maxRuns === undefined ? undefined : parseNumberOption(o.maxRuns, '--max-runs'),
    overlap: o.overlap,
    catchup: o.catchup,
    catchupWindow: durationOption(o.catchupWindow),
    jitter: durationOption(o.jitter),
    runLease: durationOption(o.runLease),
    description: o.description,
  };
}
