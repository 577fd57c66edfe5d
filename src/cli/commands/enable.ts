/**
 * `beat enable NAME` / `beat disable NAME`: for schedules kept in the database. A schedule declared
 * in schedules/*.ts says `enabled` in its declaration; to stop one of those for a while, pause it.
 */
import type { Command } from 'commander';
import { print, printJson } from '../output.ts';

export function registerEnable(program: Command): void {
  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable';
    program
      .command(verb)
      .description(
        `${verb} a schedule kept in the database (declared ones change in schedules/*.ts; pause works for all)`,
      )
      .argument('<name>', 'schedule name')
      .option('--json', 'print JSON')
      .action(async (name: string, options: { json?: boolean }) => {
        const { cliActor } = await import('../../operate/actor.ts');
        const { setEnabled } = await import('../../operate/enable.ts');
        const { withDatabase } = await import('../database.ts');
        await withDatabase(async (database) => {
          const { record, changed } = await setEnabled(database, name, enabled, cliActor());
          if (options.json) printJson({ name, enabled: record.enabled, changed });
          else print(`${name} ${changed ? 'is now' : 'already was'} ${enabled ? 'enabled' : 'disabled'}`);
        });
      });
  }
}
