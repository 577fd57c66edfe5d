/**
 * Why an operator's action was refused, as a code the CLI turns into an exit status and the API
 * into an HTTP status, and a one-line message that names the schedule and the fix. Refusals that
 * carry more than a line (the problems of an invalid schedule, what moved a version) keep it as
 * structured values, formatted once at the edge (CLI, HTTP, client).
 */

import type { AuditEntry } from '../db/sql/audit.ts';
import type { DeclarationProblem } from '../model/index.ts';

/**
 * `bad_reason`: a pause or skip reason with invisible or control characters, too long, or (a skip)
 * missing. `bad_value`: another value of an action out of range (a skip count, a pause's end).
 */
export type OperationErrorCode =
  | 'not_found'
  | 'managed_by_code'
  | 'exists'
  | 'invalid'
  | 'conflict'
  | 'bad_reason'
  | 'bad_value';

export class OperationError extends Error {
  constructor(
    readonly code: OperationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function notFound(name: string): OperationError {
  return new OperationError('not_found', `no schedule named ${JSON.stringify(name)}`);
}

/** A schedule refused by validation: every problem, each naming the declaration field. */
export class InvalidScheduleError extends OperationError {
  constructor(
    readonly schedule: string | undefined,
    readonly problems: DeclarationProblem[],
  ) {
    super(
      'invalid',
      `schedule ${JSON.stringify(schedule ?? '(unnamed)')} is invalid: ${problems
        .map((p) => `${p.field}: ${p.reason}`)
        .join('; ')}`,
    );
  }
}

/**
 * The version the caller read has moved: someone changed the schedule since. `changes` are the
 * audit log's records of what moved it (empty when it was edited outside Metronome, with SQL).
 */
export class VersionConflictError extends OperationError {
  constructor(
    readonly schedule: string,
    readonly expected: number,
    readonly current: number,
    readonly changes: AuditEntry[],
  ) {
    super('conflict', conflictMessage(schedule, expected, current, changes));
  }
}

function conflictMessage(name: string, expected: number, current: number, changes: AuditEntry[]): string {
  const what =
    changes.length === 0
      ? 'edited outside Metronome (SQL), so what changed is not recorded'
      : changes.map(describeChange).join('; ');
  return `schedule ${JSON.stringify(name)} changed since version ${expected} (now ${current}): ${what}; read it again and re-apply your change`;
}

function describeChange(entry: AuditEntry): string {
  const fields = Array.isArray(entry.detail.changed) ? ` ${entry.detail.changed.join(', ')}` : '';
  return `${entry.action}${fields} by ${entry.actor} (${entry.via}) at ${entry.at}`;
}
