/**
 * `beat pause NAME [--reason TEXT]`: an operator's pause. It is separate from `enabled` (which the
 * declaration owns): `beat sync` never un-pauses, so a deploy does not undo an incident response.
 */
import type { Command } from 'commander';
import { pauseSchedule } from '../../db/store.ts';
import { print, printJson, withDatabase } from '../database.ts';
import { isoOf } from '../format.ts';
import { requireSchedule } from '../schedules.ts';

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description('pause a schedule (no fires until resumed; sync never un-pauses)')
    .argument('<name>', 'schedule name')
    .option('--reason <text>', 'why, shown by list and show')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { reason?: string; json?: boolean }) => {
      await withDatabase(async (database) => {
        const record = await requireSchedule(database.db, name);
        const was = record.pausedAt;
        const paused = await pauseSchedule(
          database.db,
          record.id,
          options.reason ?? record.pausedReason ?? null,
        );
        if (options.json) {
          printJson({
            name,
            paused: true,
            pausedAt: isoOf(paused.pausedAt),
            reason: paused.pausedReason,
            alreadyPaused: was !== null,
          });
          return;
        }
        print(
          `${was ? 'already paused' : 'paused'} ${name} since ${isoOf(paused.pausedAt)}${
            paused.pausedReason ? ` (${paused.pausedReason})` : ''
          }`,
        );
      });
    });
}
