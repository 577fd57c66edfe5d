/**
 * `beat remove NAME [--force]`: delete a database-owned schedule. A code-owned one would come back
 * at the next `beat sync`, so it needs --force (the right fix is deleting the declaration and
 * `beat sync --prune`). Its occurrences stay, for `beat history`.
 */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';

export function registerRemove(program: Command): void {
  program
    .command('remove')
    .description('delete a database-owned schedule (its history stays); code-owned ones need --force')
    .argument('<name>', 'schedule name')
    .option(
      '--force',
      'also delete a code-owned schedule (the next beat sync re-creates it if still declared)',
    )
    .option('--json', 'print JSON')
    .action(async (name: string, options: { force?: boolean; json?: boolean }) => {
      const { deleteSchedule } = await import('../../db/store.ts');
      const { withDatabase } = await import('../database.ts');
      const { requireSchedule } = await import('../schedules.ts');
      await withDatabase(async (database) => {
        const record = await requireSchedule(database.db, name);
        if (record.managedBy === 'code' && !options.force) {
          throw new CliError(
            `${name} is declared in code (${record.source ?? 'schedules/'}): delete the declaration and run 'beat sync --prune', or pass --force (the next 'beat sync' re-creates it while it is still declared)`,
          );
        }
        await deleteSchedule(database.db, record.id);
        if (options.json) printJson({ name, removed: true, managedBy: record.managedBy });
        else
          print(
            `removed ${name} (managed by ${record.managedBy}); its history stays ('beat history ${name}')`,
          );
      });
    });
}
