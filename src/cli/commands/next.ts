/**
 * `beat next`: preview the fire times of any spec before trusting it, with DST marks.
 *
 *   beat next '30 2 * * *' --tz Europe/Berlin --after 2026-03-27T00:00:00Z --count 5
 *   beat next --every 15m --count 3
 *   beat next --solar sunset --lat 52.52 --lon 13.405 --count 3
 */
import type { Command } from 'commander';
import { dstOutlook } from '../../observe/dst-outlook.ts';
import { compileSchedule, parseInstant, type Schedule, ZoneRules } from '../../time/index.ts';
import { asCliError, CliError } from '../errors.ts';
import { describeDst, formatLocal, table } from '../format.ts';
import { type SpecOptions, specFromOptions, specOptions } from '../spec-options.ts';

interface NextOptions extends Omit<SpecOptions, 'cron'> {
  after?: string;
  count: string;
  name?: string;
  json?: boolean;
}

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
    .action((cron: string | undefined, options: NextOptions) => {
      const spec = specFromOptions({ ...options, cron }, 'a cron expression');
      const count = Number(options.count);
      if (!Number.isInteger(count) || count < 1 || count > 10_000) {
        throw new CliError(
          `--count ${JSON.stringify(options.count)} is invalid: use a whole number from 1 to 10000`,
        );
      }
      const after =
        options.after === undefined ? Date.now() : asCliError(() => parseInstant(options.after, '--after'));
      const schedule = asCliError(() => compileSchedule(spec, { name: options.name }));
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
      const rows = fires.map((at, i) => [
        String(i + 1),
        new Date(at).toISOString(),
        formatLocal(at, zone),
        describeDst(schedule.explain(at)),
      ]);
      process.stdout.write(`${table(['#', 'UTC', `Local (${zone.name})`, 'DST'], rows)}\n`);
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
