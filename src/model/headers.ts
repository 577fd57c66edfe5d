/**
 * Custom message headers may not be named like the headers the scheduler writes itself on every
 * message: Celery's protocol v2 headers (docs/celery-protocol.md) and the scheduler's own. A
 * custom `id` would replace the task id the beat tracks the run by (every run then stays claimed
 * and is retried for ever); a custom `task` would send another task. Refused wherever a schedule
 * is checked: declarations, `beat add`, sync, the API and the row loader.
 */

/** The headers Celery's `apply_async` sends (protocol v2), in its order. */
export const CELERY_PROTOCOL_HEADERS = [
  'lang',
  'task',
  'id',
  'shadow',
  'eta',
  'expires',
  'group',
  'group_index',
  'retries',
  'timelimit',
  'root_id',
  'parent_id',
  'argsrepr',
  'kwargsrepr',
  'origin',
  'ignore_result',
] as const;

/** The headers the scheduler adds to every message after the custom ones. */
export const SCHEDULER_HEADERS = ['periodic_task_name', 'scheduled_for'] as const;

export const RESERVED_HEADER_NAMES: readonly string[] = [...CELERY_PROTOCOL_HEADERS, ...SCHEDULER_HEADERS];

const RESERVED: ReadonlySet<string> = new Set(RESERVED_HEADER_NAMES);

/** The first reserved name among `headers`' keys and why it is refused, or null. */
export function reservedHeaderProblem(headers: object): { header: string; message: string } | null {
  const header = Object.keys(headers).find((key) => RESERVED.has(key));
  if (header === undefined) return null;
  return {
    header,
    message: `"${header}" is a header the scheduler sets itself on every message (docs/celery-protocol.md); a custom header cannot replace it: rename it (e.g. "x-${header}") or remove it`,
  };
}
