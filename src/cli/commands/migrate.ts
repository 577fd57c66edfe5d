/** `beat migrate`: apply pending migrations (serialized by an advisory lock; a no-op when up to date). */
import type { Command } from 'commander';
import { print, printJson } from '../output.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (every other database command also does this first)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database, result) => {
        if (options.json) printJson({ target: database.target, ...result });
        else if (result.applied === 0) print(`${database.target}: up to date (${result.total} migrations)`);
        else print(`${database.target}: applied ${result.applied} of ${result.total} migrations`);
      });
    });
}
