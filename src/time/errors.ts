/**
 * The one error type the time engine throws for bad input. It names the field, the value that was
 * given and what would have been accepted, so a caller (the CLI, `beat sync`, the row loader) can
 * show a person exactly what to fix without parsing a message.
 */
export class ScheduleSpecError extends Error {
  override readonly name = 'ScheduleSpecError';
  constructor(
    /** The spec field at fault, e.g. `cron`, `cron.minute`, `timezone`, `latitude`, `every`. */
    readonly field: string,
    /** The value as it was given. */
    readonly value: unknown,
    /** Why it is wrong, in a few words. */
    readonly reason: string,
    /** What the field accepts. */
    readonly allowed: string,
  ) {
    super(`${field} ${describeValue(value)} is invalid: ${reason}. Allowed: ${allowed}.`);
  }

  /** The same error with the schedule's name in front, for messages that list many schedules. */
  forSchedule(name: string): ScheduleSpecError {
    const err = new ScheduleSpecError(this.field, this.value, this.reason, this.allowed);
    err.message = `schedule "${name}": ${this.message}`;
    return err;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
