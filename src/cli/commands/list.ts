/** `beat list`: every schedule with its spec, state and next and last fire. */
import type { Command } from 'commander';
import { shown, table } from '../format.ts';
import { print, printJson } from '../output.ts';

export function registerList(program: Command): void {
  program
    .command('list')
    .description(
      'list the schedules: kind, spec, state (enabled/paused/disabled/invalid), next and last fire',
    )
    .option('--json', 'print a JSON array')
    .action(async (options: { json?: boolean }) => {
      const { databaseNow } = await import('../../db/store.ts');
      const { listScheduleRecords } = await import('../../db/sql/schedules-read.ts');
      const { describeSpec } = await import('../../model/index.ts');
      const { withDatabase } = await import('../database.ts');
      const { recordJson, stateText, viewRecord } = await import('../../observe/schedule-view.ts');
      const { when } = await import('../schedules.ts');
      await withDatabase(async (database) => {
        const now = await databaseNow(database);
        const { calendarsOf } = await import('../../db/sql/calendars.ts');
        const records = await listScheduleRecords(database.db);
        const calendars = await calendarsOf(database.db, records);
        const views = records.map((r) => viewRecord(r, now, calendars));
        if (options.json) {
          printJson(views.map(recordJson));
          return;
        }
        if (views.length === 0) {
          print(
            `No schedules in ${database.target}. Declare some in schedules/*.ts and run 'beat sync', or 'beat add'.`,
          );
          return;
        }
        const rows = views.map((v) => [
          v.record.name,
          v.record.kind,
          describeSpec(v.record),
          stateText(v),
          // A next fire in the past is due: no leader has fired it yet (catch-up policy applies).
          when(v.nextFireAt, v.zone) + (v.nextFireAt !== null && v.nextFireAt < now ? ' (due)' : ''),
          when(v.record.lastFireAt?.getTime(), v.zone),
        ]);
        print(table(['NAME', 'KIND', 'SPEC', 'STATE', 'NEXT FIRE', 'LAST FIRE'], rows));
        const invalid = views.filter((v) => v.invalidReason);
        for (const v of invalid) print(`\ninvalid: ${shown(`${v.record.name}: ${v.invalidReason}`)}`);
      });
    });
}
