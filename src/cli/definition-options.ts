/**
 * The options of a schedule's definition other than its spec (--task, --args, --queue, --jitter,
 * ...), shared by `beat add` (which creates from them) and `beat edit` (which changes only those
 * given). Declared once ({@link definitionOptions}), read once ({@link definitionFromOptions}),
 * and a refusal names the flag the operator typed ({@link refuseDefinition}).
 */
import type { Command } from 'commander';
import type { DeclarationProblem } from '../model/index.ts';
import { CliError } from './errors.ts';
import { durationOption, parseJsonOption, parseNumberOption } from './spec-options.ts';

export interface DefinitionOptions {
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
  startAt?: string;
  endAt?: string;
  maxRuns?: string;
  overlap?: string;
  catchup?: string;
  catchupWindow?: string;
  jitter?: string;
  runLease?: string;
  startDeadline?: string;
  finishDeadline?: string;
  exclusionGroup?: string;
  description?: string;
  calendars?: string;
  onExcluded?: string;
}

/** Declare the options (--task is declared by each command: required to add, optional to edit). */
export function definitionOptions(command: Command): Command {
  return command
    .option('--args <json>', 'positional arguments, a JSON array (default [])')
    .option('--kwargs <json>', 'keyword arguments, a JSON object (default {})')
    .option('--headers <json>', 'extra message headers, a JSON object (default {})')
    .option('--queue <queue>', 'target queue (default: routing decides)')
    .option('--routing-key <key>', 'AMQP routing key')
    .option('--priority <0-9>', 'message priority')
    .option('--expires <duration>', "drop a run not started within this long, e.g. '10m'")
    .option('--time-limit <duration>', "Celery hard time limit, e.g. '5m'")
    .option('--soft-time-limit <duration>', 'Celery soft time limit')
    .option('--start-at <instant>', 'no fire before this instant')
    .option('--end-at <instant>', 'no fire after this instant')
    .option('--max-runs <n>', 'stop after this many runs')
    .option('--overlap <policy>', 'skip (default), allow or buffer_one')
    .option('--catchup <policy>', 'latest (default), skip or all')
    .option('--catchup-window <duration>', "how far back catch-up looks (default '1h')")
    .option('--jitter <duration>', 'spread fires by up to this much')
    .option('--run-lease <duration>', 'longest run-lock hold when completion is never seen')
    .option(
      '--start-deadline <duration>',
      "each run must have started this long after its slot, e.g. '5m' (alerts)",
    )
    .option(
      '--finish-deadline <duration>',
      "each run must have finished this long after its slot, e.g. '1h' (alerts)",
    )
    .option(
      '--exclusion-group <group>',
      "never run at the same time as the group's other schedules ('none': no group)",
    )
    .option('--description <text>', 'free text')
    .option(
      '--calendars <names>',
      'business calendars whose days it does not fire on, comma-separated ("" for none)',
    )
    .option('--on-excluded <action>', 'a fire on an excluded day: skip (default), previous or next (moved)');
}

/**
 * The definition fields the options give, as a declaration takes them; a field whose option was
 * not given is left out (`beat add` then takes the declaration's default, `beat edit` the stored value).
 */
export function definitionFromOptions(o: DefinitionOptions): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    task: o.task,
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
    startAt: o.startAt,
    endAt: o.endAt,
    maxRuns: o.maxRuns === undefined ? undefined : parseNumberOption(o.maxRuns, '--max-runs'),
    overlap: o.overlap,
    catchup: o.catchup,
    catchupWindow: durationOption(o.catchupWindow),
    jitter: durationOption(o.jitter),
    runLease: durationOption(o.runLease),
    startDeadline: durationOption(o.startDeadline),
    finishDeadline: durationOption(o.finishDeadline),
    exclusionGroup: o.exclusionGroup === 'none' ? null : o.exclusionGroup,
    description: o.description,
    calendars:
      o.calendars === undefined
        ? undefined
        : o.calendars
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
    onExcluded: o.onExcluded,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
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
  calendars: '--calendars',
  onExcluded: '--on-excluded',
};
const flagOf = (field: string) =>
  FLAG[field] ?? `--${field.split('.')[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/**
 * Refuse with every problem on a line of its own, naming the flag (and the key inside a JSON
 * flag): `cannot add "x":` / `cannot edit "x":`.
 */
export function refuseDefinition(verb: string, name: string, problems: DeclarationProblem[]): never {
  const lines = problems.map(
    (p) =>
      `  ${flagOf(p.field)}${p.field.includes('.') && !p.field.startsWith('schedule.') ? ` (${p.field})` : ''}: ${p.reason}`,
  );
  throw new CliError(`cannot ${verb} ${JSON.stringify(name)}:\n${lines.join('\n')}`);
}
