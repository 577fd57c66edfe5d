/**
 * `beat resume NAME`: end a pause. The slots that fell in the pause follow the schedule's catch-up
 * policy (latest: one run now; all: each, one at a time; skip: none); the rest are recorded missed.
 */
import type { Command } from 'commander';
import { databaseNow, resumeSchedule } from '../../db/store.ts';
import { print, printJson, withDatabase } from '../database.ts';
import { isoOf } from '../format.ts';
import { requireSchedule, viewRecord, when } from '../schedules.ts';

export function registerResume(program: Command): void {
  program
    .command('resume')
    .description('resume a paused schedule (the paused stretch follows its catch-up policy; no burst)')
    .argument('<name>', 'schedule name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      await withDatabase(async (database) => {
        const record = await requireSchedule(database.db, name);
        const wasPaused = record.pausedAt !== null;
        const resumed = wasPaused
          ? await resumeSchedule(database.db, record, await databaseNow(database))
          : record;
        const view = viewRecord(resumed, await databaseNow(database));
        if (options.json) {
          printJson({
            name,
            resumed: wasPaused,
            state: view.state,
            nextFireAt: view.nextFireAt === null ? null : isoOf(new Date(view.nextFireAt)),
          });
          return;
        }
        if (!wasPaused) print(`${name} is not paused (state: ${view.state})`);
        else print(`resumed ${name} (state: ${view.state}); next fire ${when(view.nextFireAt, view.zone)}`);
      });
    });
}
