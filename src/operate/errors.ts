/**
 * Why an operator's action was refused, as a code the CLI turns into an exit status and the API
 * into an HTTP status, and a one-line message that names the schedule and the fix.
 */
export type OperationErrorCode = 'not_found' | 'managed_by_code';

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
