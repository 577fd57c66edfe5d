/**
 * `beat resume NAME`: end a pause. The slots that fell in the pause follow the schedule's catch-up
 * policy (latest: one run now; all: each, one at a time; skip: none); the rest are recorded missed.
 */
import type { Command } from 'commander';
import { isoOf } from '../format.ts';
import { print, printJson } from '../output.ts';

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('resume a paused schedule (the paused stretch follows its catch-up policy; no burst)')
    .argument('<name>', 'schedule name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const { databaseNow } = await import('../../db/store.ts');
      const { cliActor } = await import('../../operate/actor.ts');
      const { resume } = await import('../../operate/pause.ts');
      const { viewRecord } = await import('../../observe/schedule-view.ts');
      const { withDatabase } = await import('../database.ts');
      const { when } = await import('../schedules.ts');
      await withDatabase(async (database) => {
        const { record, resumed } = await resume(database, name, cliActor());
        const { calendarsOf } = await import('../../db/sql/calendars.ts');
        const view = viewRecord(
          record,
          await databaseNow(database),
          await calendarsOf(database.db, [record]),
        );
        if (options.json) {
          printJson({
            name,
            resumed,
            state: view.state,
            nextFireAt: view.nextFireAt === null ? null : isoOf(new Date(view.nextFireAt)),
          });
          return;
        }
        if (!resumed) print(`${name} is not paused (state: ${view.state})`);
        else print(`resumed ${name} (state: ${view.state}); next fire ${when(view.nextFireAt, view.zone)}`);
      });
    });
}
