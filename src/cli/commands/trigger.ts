/**
 * `beat trigger NAME [--force] [--wait SECONDS]`: run a schedule now, through the leader's normal
 * path (run lock and overlap policy, unless --force), recorded as a manual occurrence. Exits 1
 * when the run was skipped, failed, or no leader enqueued it within --wait (0: do not wait, exit 0).
 */
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { print, printJson } from '../output.ts';

interface TriggerOptions {
  force?: boolean;
  wait: string;
  json?: boolean;
}

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('run a schedule now through the leader (a manual occurrence; overlap policy applies)')
    .argument('<name>', 'schedule name')
    .option('--force', 'enqueue even if a run of this schedule is still going (no run lock)')
    .option('--wait <seconds>', 'wait this long for the leader to enqueue it (0: do not wait)', '10')
    .option('--json', 'print JSON')
    .action(async (name: string, options: TriggerOptions) => {
      const { cliActor } = await import('../../operate/actor.ts');
      const { awaitDispatch, trigger } = await import('../../operate/trigger.ts');
      const { withDatabase } = await import('../database.ts');
      const waitS = Number(options.wait);
      if (!Number.isFinite(waitS) || waitS < 0)
        throw new CliError(`--wait ${JSON.stringify(options.wait)} is not a number of seconds`);
      await withDatabase(async (database) => {
        const { taskId, scheduledFor } = await trigger(database, name, options.force ?? false, cliActor());
        const state = await awaitDispatch(database, taskId, waitS * 1000);
        const { status } = state;
        if (options.json) {
          printJson({
            name,
            taskId,
            scheduledFor: new Date(scheduledFor).toISOString(),
            status,
            error: state.error,
          });
        } else if (status === 'claimed') {
          print(
            waitS > 0
              ? `recorded manual run ${taskId} of ${name}; no leader enqueued it within ${waitS}s (is a beat running?). It stays claimed and the next leader sends it.`
              : `recorded manual run ${taskId} of ${name}; the leader will enqueue it.`,
          );
        } else {
          print(`manual run ${taskId} of ${name}: ${status}${state.error ? ` (${state.error})` : ''}`);
        }
        // Waited and no leader took it (none running?): the caller asked for a run now and has none.
        const untaken = status === 'claimed' && waitS > 0;
        if (untaken || status === 'skipped_overlap' || status === 'failed') process.exitCode = 1;
      });
    });
}
