/**
 * `beat` / `beat run`: run the scheduler. With nothing configured this is the embedded default —
 * PGlite in .metronome/, an in-process run lock, the `log` transport, and the declarations in
 * schedules/ synced at start. SIGTERM or SIGINT hands leadership over and exits 0. The work is in
 * ../run-beat.ts, loaded only when this command runs.
 */
import type { Command } from 'commander';

export function registerRun(program: Command): void {
  program
    .command('run', { isDefault: true })
    .description('run the beat (the default command): stand by, lead when elected, fire schedules')
    .action(async () => {
      const { runBeat } = await import('../run-beat.ts');
      await runBeat();
    });
}
