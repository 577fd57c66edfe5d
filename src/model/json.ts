/**
 * JSON values as they travel in `args`, `kwargs` and `headers`: checked by hand rather than with
 * `z.json()`, so a person learns *which* key holds a Date or a function and what to write instead.
 */

/** A JSON value: what Celery (and any worker) will receive after serialization. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Where and why a value is not plain JSON, or null when it is. */
export function jsonProblem(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; reason: string } | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') {
    return Number.isFinite(value) ? null : { path, reason: `${value} is not a JSON number` };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], [...path, i]);
      if (problem) return problem;
    }
    return null;
  }
  if (value instanceof Date) {
    return { path, reason: 'a Date is not JSON: pass an ISO 8601 string, e.g. date.toISOString()' };
  }
  if (typeof value === 'bigint') return { path, reason: 'a bigint is not JSON: pass a number or a string' };
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      return {
        path,
        reason: `a ${proto?.constructor?.name ?? 'class instance'} is not JSON: use a plain object`,
      };
    }
    for (const [key, item] of Object.entries(value)) {
      const problem = jsonProblem(item, [...path, key]);
      if (problem) return problem;
    }
    return null;
  }
  return { path, reason: `a ${typeof value} is not JSON` };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON text with object keys sorted: jsonb does not keep key order, so this is how two values are
 * compared for equality (sync's change detection).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    isJsonObject(item) && !(item instanceof Date)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
