/**
 * `beat pause NAME [--until T] [--reason TEXT]`: an operator's pause. It is separate from `enabled`
 * (which the declaration owns): `beat sync` never un-pauses, so a deploy does not undo an incident
 * response. With `--until` (an ISO 8601 instant with an offset, or a duration from now such as `2h`)
 * the leader resumes it by itself at T, with the catch-up of a manual resume.
 */
import type { Command } from 'commander';
import { isoOf } from '../format.ts';
import { print, printJson } from '../output.ts';

export function registerPause(program: Command): void {
  program
    .command('pause')
    .description('pause a schedule (no fires until resumed, or until --until; sync never un-pauses)')
    .argument('<name>', 'schedule name')
    .option(
      '--until <instant>',
      'resume by itself then: an ISO 8601 date-time with an offset, or a duration from now (2h, 1d12h)',
    )
    .option('--reason <text>', 'why, shown by list and show')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { until?: string; reason?: string; json?: boolean }) => {
      const { cliActor } = await import('../../operate/actor.ts');
      const { pause } = await import('../../operate/pause.ts');
      const { withDatabase } = await import('../database.ts');
      await withDatabase(async (database) => {
        const { record, alreadyPaused } = await pause(
          database,
          name,
          { reason: options.reason ?? null, until: options.until ?? null },
          cliActor(),
        );
        if (options.json) {
          printJson({
            name,
            paused: true,
            pausedAt: isoOf(record.pausedAt),
            pausedUntil: isoOf(record.pausedUntil),
            reason: record.pausedReason,
            alreadyPaused,
          });
          return;
        }
        const until = record.pausedUntil ? ` until ${isoOf(record.pausedUntil)} (resumes by itself)` : '';
        print(
          `${alreadyPaused ? 'already paused' : 'paused'} ${name} since ${isoOf(record.pausedAt)}${until}${
            record.pausedReason ? ` (${record.pausedReason})` : ''
          }`,
        );
      });
    });
}
