/**
 * `beat trigger NAME [--force] [--wait SECONDS]`: run a schedule now, through the leader's normal
 * path (run lock and overlap policy, unless --force), recorded as a manual occurrence.
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
      const { insertManualOccurrence, occurrenceStatus } = await import('../../beat/ledger.ts');
      const { taskIdFor } = await import('../../model/task-id.ts');
      const { withDatabase } = await import('../database.ts');
      const { requireSchedule } = await import('../schedules.ts');
      const waitS = Number(options.wait);
      if (!Number.isFinite(waitS) || waitS < 0)
        throw new CliError(`--wait ${JSON.stringify(options.wait)} is not a number of seconds`);
      await withDatabase(async (database) => {
        const record = await requireSchedule(database.db, name);
        const { taskId, scheduledFor } = await insertManualOccurrence(
          database,
          record,
          options.force ?? false,
          taskIdFor,
        );
        let state = await occurrenceStatus(database, taskId);
        const deadline = Date.now() + waitS * 1000;
        while (state?.status === 'claimed' && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          state = await occurrenceStatus(database, taskId);
        }
        const status = state?.status ?? 'claimed';
        if (options.json) {
          printJson({
            name,
            taskId,
            scheduledFor: new Date(scheduledFor).toISOString(),
            status,
            error: state?.error ?? null,
          });
        } else if (status === 'claimed') {
          print(
            waitS > 0
              ? `recorded manual run ${taskId} of ${name}; no leader enqueued it within ${waitS}s (is a beat running?). It stays claimed and the next leader sends it.`
              : `recorded manual run ${taskId} of ${name}; the leader will enqueue it.`,
          );
        } else {
          print(`manual run ${taskId} of ${name}: ${status}${state?.error ? ` (${state.error})` : ''}`);
        }
        if (status === 'skipped_overlap' || status === 'failed') process.exitCode = 1;
      });
    });
}
