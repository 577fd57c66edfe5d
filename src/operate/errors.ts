/**
 * Why an operator's action was refused, as a code the CLI turns into an exit status and the API
 * into an HTTP status, and a one-line message that names the schedule and the fix.
 */
/** `bad_reason`: a pause reason with invisible or control characters, or too long. */
export type OperationErrorCode = 'not_found' | 'managed_by_code' | 'bad_reason';

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
