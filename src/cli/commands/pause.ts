/**
 * `beat pause NAME [--reason TEXT]`: an operator's pause. It is separate from `enabled` (which the
 * declaration owns): `beat sync` never un-pauses, so a deploy does not undo an incident response.
 */
import type { Command } from 'commander';
import { isoOf } from '../format.ts';
import { print, printJson } from '../output.ts';

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description('pause a schedule (no fires until resumed; sync never un-pauses)')
    .argument('<name>', 'schedule name')
    .option('--reason <text>', 'why, shown by list and show')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { reason?: string; json?: boolean }) => {
      const { cliActor } = await import('../../operate/actor.ts');
      const { pause } = await import('../../operate/pause.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const { record, alreadyPaused } = await pause(database, name, options.reason ?? null, cliActor());
        if (options.json) {
          printJson({
            name,
            paused: true,
            pausedAt: isoOf(record.pausedAt),
            reason: record.pausedReason,
            alreadyPaused,
          });
          return;
        }
        print(
          `${alreadyPaused ? 'already paused' : 'paused'} ${name} since ${isoOf(record.pausedAt)}${
            record.pausedReason ? ` (${record.pausedReason})` : ''
          }`,
        );
      });
    });
}
