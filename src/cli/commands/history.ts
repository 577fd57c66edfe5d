/** `beat history NAME [--limit N]`: the latest occurrences, also of a schedule that was removed. */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('show the latest occurrences of a schedule (kept after the schedule is removed)')
    .argument('<name>', 'schedule name')
    .option('--limit <n>', 'how many occurrences', '20')
    .option('--json', 'print a JSON array')
    .action(async (name: string, options: { limit: string; json?: boolean }) => {
      const { findSchedule } = await import('../../db/sql/schedules-read.ts');
      const { occurrencesOf } = await import('../../db/sql/occurrences-read.ts');
      const { withDatabase } = await import('../database.ts');
      const { occurrenceTable } = await import('./show.ts');
      const { occurrenceView } = await import('../../observe/history.ts');
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
        throw new CliError(
          `--limit ${JSON.stringify(options.limit)} is invalid: use a whole number from 1 to 10000`,
        );
      }
      await withDatabase(async (database) => {
        const history = await occurrencesOf(database.db, name, { limit });
        if (history.length === 0 && !(await findSchedule(database.db, name))) {
          throw new CliError(
            `no schedule named ${JSON.stringify(name)} and no history under that name; 'beat list' shows the schedules there are`,
          );
        }
        if (options.json) printJson(history.map(occurrenceView));
        else if (history.length === 0) print(`${name}: no occurrences yet`);
        else print(occurrenceTable(history));
      });
    });
}
