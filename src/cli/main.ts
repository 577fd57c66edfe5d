/**
 * The `beat` command line. Each subcommand lives in `commands/` and registers itself here; exit
 * codes: 0 success, 1 runtime failure, 2 bad input (a spec, an option, an unknown name).
 */
import { Command, CommanderError } from 'commander';
import { OperationError } from '../operate/errors.ts';
import { VERSION } from '../version.ts';
import { registerAdd } from './commands/add.ts';
import { registerBackfill } from './commands/backfill.ts';
import { registerCalendar } from './commands/calendar.ts';
import { registerEdit } from './commands/edit.ts';
import { registerEnable } from './commands/enable.ts';
import { registerHistory } from './commands/history.ts';
import { registerImport } from './commands/import.ts';
import { registerList } from './commands/list.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerNext } from './commands/next.ts';
import { registerPause } from './commands/pause.ts';
import { registerRemove } from './commands/remove.ts';
import { registerResume } from './commands/resume.ts';
import { registerRun } from './commands/run.ts';
import { registerShow } from './commands/show.ts';
import { registerSkip } from './commands/skip.ts';
import { registerSync } from './commands/sync.ts';
import { registerTrigger } from './commands/trigger.ts';
import { CliError } from './errors.ts';

function buildProgram(): Command {
  const program = new Command('beat')
    .description('Metronome: a highly available, correct periodic scheduler (celery beat equivalent)')
    .version(VERSION, '-V, --version', 'print the version of Metronome')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerRun(program);
  registerNext(program);
  registerMigrate(program);
  registerSync(program);
  registerList(program);
  registerShow(program);
  registerPause(program);
  registerResume(program);
  registerSkip(program);
  registerEnable(program);
  registerAdd(program);
  registerEdit(program);
  registerRemove(program);
  registerHistory(program);
  registerTrigger(program);
  registerBackfill(program);
  registerImport(program);
  registerCalendar(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version print and exit 0; a usage error has already been printed.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      process.stderr.write(`beat: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof OperationError) {
      // Refused for the input given (an unknown name, a schedule owned by code): bad input, exit 2.
      const hint = error.code === 'not_found' ? "; 'beat list' shows the schedules there are" : '';
      process.stderr.write(`beat: ${error.message}${hint}\n`);
      return 2;
    }
    process.stderr.write(
      `beat: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}
