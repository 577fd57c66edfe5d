/**
 * `beat add NAME --task T (--cron EXPR --tz Z | --every D [--anchor I] | --solar E --lat N --lon N
 * | --at I) [options]`: create a database-owned schedule (`managed_by = 'db'`), validated exactly
 * like a declaration. `beat sync` never touches it; `beat remove` deletes it.
 */
import type { Command } from 'commander';
import type { DeclarationProblem } from '../../model/index.ts';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';
import {
  DST_OPTION_HELP,
  durationOption,
  parseJsonOption,
  parseNumberOption,
  specFromOptions,
} from '../spec-options.ts';

interface AddOptions {
  task?: string;
  cron?: string;
  tz?: string;
  every?: string;
  anchor?: string;
  solar?: string;
  lat?: string;
  lon?: string;
  at?: string;
  dst?: string;
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
  program
    .command('add')
    .description('create a database-owned schedule (sync never touches it)')
    .argument('<name>', 'unique schedule name')
    .requiredOption('--task <task>', "task name, e.g. 'reports.nightly'")
    .option(
      '--cron <expr>',
      "cron expression ('30 2 * * *'), or Celery's object form as JSON ('{\"hour\": 2}')",
    )
    .option('--tz <zone>', 'IANA time zone of --cron (required with it)')
    .option('--dst <policy>', DST_OPTION_HELP)
    .option('--every <duration>', "interval: '30s', '15m', '1h30m' or milliseconds")
    .option('--anchor <instant>', 'grid anchor of --every (ISO 8601 with offset)')
    .option('--solar <event>', 'solar event: sunrise, sunset, solar_noon, dawn_civil, dusk_civil, ...')
    .option('--lat <degrees>', 'latitude of --solar')
    .option('--lon <degrees>', 'longitude of --solar')
    .option('--at <instant>', 'one run at this instant (ISO 8601 with offset)')
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
      const { databaseNow, findSchedule, insertSchedule } = await import('../../db/store.ts');
      const { declarationField, neverFiresProblem, nextFireWithin, parseDeclaration, validateFields } =
        await import('../../model/index.ts');
      const { withDatabase } = await import('../database.ts');
      const { recordJson, viewRecord } = await import('../../observe/schedule-view.ts');
      const { when } = await import('../schedules.ts');
      const input = {
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
      const parsed = parseDeclaration(input, Date.now());
      if (!parsed.ok) refuse(name, parsed.problems);
      const fields = parsed.fields;
      const checked = validateFields({ ...fields, name }, Date.now());
      if (!checked.ok) throw new Error(`a parsed declaration failed validation: ${checked.reason}`);
      const never = neverFiresProblem(checked.schedule, fields, Date.now());
      if (never) refuse(name, [{ field: declarationField(never.column), reason: never.message }]);
      if (o.preview) {
        const { previewEdit } = await import('../../observe/preview.ts');
        const { formatPreview } = await import('../preview-output.ts');
        const preview = previewEdit({ name, before: null, after: fields, now: Date.now() });
        if (o.json) printJson({ preview });
        else print(`preview of ${name} (nothing written):\n${formatPreview(preview)}`);
        return;
      }
      await withDatabase(async (database) => {
        const existing = await findSchedule(database.db, name);
        if (existing) {
          throw new CliError(
            `a schedule named ${JSON.stringify(name)} already exists (managed by ${existing.managedBy}${existing.source ? `, ${existing.source}` : ''}); pick another name or 'beat remove' it first`,
          );
        }
        const now = await databaseNow(database);
        const next = nextFireWithin(checked.schedule, { ...fields, totalRuns: 0 }, now);
        const record = await insertSchedule(
          database.db,
          name,
          fields,
          { managedBy: 'db', source: 'beat add' },
          next,
        );
        const view = viewRecord(record, now);
        if (o.json) printJson(recordJson(view));
        else print(`added ${name} (managed by db): next fire ${when(view.nextFireAt, view.zone)}`);
      });
    });
}
