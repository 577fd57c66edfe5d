/**
 * `beat skip NAME [--count N] --reason TEXT` and `beat skip NAME --clear`: the next N occurrences
 * that would run are recorded `skipped` with the reason and never sent (one already claimed ahead
 * of its instant is taken back). A new skip replaces a pending one; `sync` never clears it.
 */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';

interface SkipOptions {
  count?: string;
  reason?: string;
  clear?: boolean;
  json?: boolean;
}

export function registerSkip(program: Command): void {
  program
    .command('skip')
    .description('skip the next N occurrences of a schedule, with a reason (recorded skipped, never sent)')
    .argument('<name>', 'schedule name')
    .option('--count <n>', 'how many of the next occurrences (default 1)')
    .option('--reason <text>', 'why: recorded on each skipped occurrence and in the audit log')
    .option('--clear', 'end a pending skip (the occurrences it has not taken yet run)')
    .option('--json', 'print JSON')
    .action(async (name: string, options: SkipOptions) => {
      if (options.clear && (options.count !== undefined || options.reason !== undefined)) {
        throw new CliError(`beat skip ${name} --clear takes no --count or --reason`, 2);
      }
      const count = options.count === undefined ? 1 : Number(options.count);
      if (options.count !== undefined && !/^\d+$/.test(options.count.trim())) {
        throw new CliError(
          `--count ${JSON.stringify(options.count)} for ${JSON.stringify(name)} is invalid: use a whole number from 1 to 10000`,
          2,
        );
      }
      const { databaseNow } = await import('../../db/store.ts');
      const { cliActor } = await import('../../operate/actor.ts');
      const { clearSkip, skip } = await import('../../operate/skip.ts');
      const { nextFires, viewRecord } = await import('../../observe/schedule-view.ts');
      const { withDatabase } = await import('../database.ts');
      const { when } = await import('../schedules.ts');
      await withDatabase(async (database) => {
        const { record, previous } = options.clear
          ? await clearSkip(database, name, cliActor())
          : await skip(database, name, { count, reason: options.reason ?? '' }, cliActor());
        const now = await databaseNow(database);
        const { calendarsOf } = await import('../../db/sql/calendars.ts');
        const view = viewRecord(record, now, await calendarsOf(database.db, [record]));
        const skipped = nextFires(view, now, Math.min(record.skipCount, 20)).filter((f) => f.skipped);
        if (options.json) {
          printJson({
            name,
            skipCount: record.skipCount,
            skipReason: record.skipReason,
            previous,
            skipping: skipped.map((f) => new Date(f.at).toISOString()),
          });
          return;
        }
        if (options.clear) {
          print(
            previous.count === 0
              ? `${name} had no skip pending`
              : `cleared the skip of ${name} (${previous.count} left, ${previous.reason ?? 'no reason given'})`,
          );
          return;
        }
        const replaced = previous.count > 0 ? ` (replaces the ${previous.count} left)` : '';
        const list = skipped.map((f) => `\n  ${when(f.at, view.zone)}  ${new Date(f.at).toISOString()}`);
        const more =
          record.skipCount > skipped.length ? `\n  … ${record.skipCount - skipped.length} more` : '';
        print(
          `skipping the next ${record.skipCount} of ${name} (${record.skipReason})${replaced}:${list.join('')}${more}`,
        );
      });
    });
}
