import { ScheduleSpecError } from '../time/index.ts';

/** An error the CLI prints as one line (no stack) and turns into an exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/** Run `fn`, turning the engine's spec errors into exit-code-2 CLI errors with the engine's message. */
export function asCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ScheduleSpecError) throw new CliError(error.message, 2);
    throw error;
  }
}
