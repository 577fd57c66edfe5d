/**
 * `beat remove NAME [--force]`: delete a database-owned schedule. A code-owned one would come back
 * at the next `beat sync`, so it needs --force (the right fix is deleting the declaration and
 * `beat sync --prune`). Its occurrences stay, for `beat history`. Through src/operate/, as the
 * client's remove, recorded in the audit log.
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
      const { cliActor } = await import('../../operate/actor.ts');
      const { removeSchedule } = await import('../../operate/edit.ts');
      const { OperationError } = await import('../../operate/errors.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        let record: Awaited<ReturnType<typeof removeSchedule>>;
        try {
          record = await removeSchedule(database, name, cliActor(), { force: options.force ?? false });
        } catch (error) {
          if (error instanceof OperationError && error.code === 'managed_by_code') {
            throw new CliError(
              `${error.message}, or pass --force (the next 'beat sync' re-creates it while it is still declared)`,
            );
          }
          throw error;
        }
        if (options.json) printJson({ name, removed: true, managedBy: record.managedBy });
        else
          print(
            `removed ${name} (managed by ${record.managedBy}); its history stays ('beat history ${name}')`,
          );
      });
    });
}
