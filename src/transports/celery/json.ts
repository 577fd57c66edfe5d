/**
 * JSON values as they travel in a Celery message, and Python's `json.dumps` byte format.
 *
 * kombu serializes with the standard library's `json.dumps` defaults: separators `", "` and `": "`,
 * `ensure_ascii=True` (every character outside printable ASCII becomes `\uXXXX`, astral characters as a
 * surrogate pair) and floats printed by `float.__repr__`. Producing the same bytes lets a message we build
 * be compared byte for byte with one Python built, which the fixtures do.
 */
import { ExactNumber } from '../../model/json.ts';
import { pythonFloatRepr } from './python-float.ts';

export { ExactNumber };
/** A number as read from the database keeps its text (src/model/json.ts) and is written verbatim. */
export type JsonPrimitive = null | boolean | number | ExactNumber | string;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** A plain object (`{}` or `Object.create(null)`), not an array, `null`, a Date, a Map or a class instance. */
export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A value that is not JSON where JSON is required. `path` names where it is, e.g. `kwargs.when`. */
export class NotJsonError extends TypeError {
  override readonly name = 'NotJsonError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/**
 * How a JavaScript number reads once Python has decoded our JSON: an integer (as `json.loads("5")` gives
 * `int`) when it is a safe integer, otherwise a float printed as Python prints it. Integral values past
 * 2^53 are written as floats (`1e+16`): JavaScript does not hold them exactly, so claiming an exact int
 * would be a lie.
 */
export function pythonNumber(n: number, path = 'value'): string {
  if (!Number.isFinite(n)) throw new NotJsonError(path, `is ${n}, which JSON cannot carry`);
  if (Number.isSafeInteger(n)) return String(n); // String(-0) is "0", as JSON.stringify writes it
  return pythonFloatRepr(n);
}

/**
 * How Python shows a number it decoded from the text the database holds: an integer literal is an
 * `int`, shown as its digits; anything else is a `float` (`1.50` shows as `1.5`, and a literal
 * beyond the double range as `inf`, as `float()` reads it).
 */
export function pythonExactNumber(n: ExactNumber): string {
  if (n.isInteger) return BigInt(n.text).toString();
  return pythonFloatRepr(Number(n.text));
}

/** Printable ASCII but `"` and `\\`: written as it is (most task names, ids, dates, queues). */
const VERBATIM = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** `json.dumps(s)` of a string with `ensure_ascii=True`. */
export function pythonJsonString(s: string): string {
  if (VERBATIM.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    // UTF-16 code units: an astral character comes out as its surrogate pair, exactly as Python writes it.
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

/**
 * Python's `json.dumps(value)` with its default options. Throws a {@link NotJsonError} naming the path of
 * the first thing that is not JSON (undefined, a function, NaN, a Date, a cycle...).
 */
export function pythonJsonDumps(value: unknown, path = 'value'): string {
  // Scalars (most header values) need no cycle tracking.
  if (value === null || typeof value !== 'object') return dumps(value, path, NO_CYCLES);
  return dumps(value, path, new Set());
}

const NO_CYCLES: Set<object> = new Set();

function dumps(value: unknown, path: string, open: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return pythonJsonString(value);
    case 'number':
      return pythonNumber(value, path);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      // The database's own text: Python reads exactly the number the row holds.
      if (value instanceof ExactNumber) return value.text;
      if (open.has(value)) throw new NotJsonError(path, 'refers back to itself (a cycle)');
      if (Array.isArray(value)) {
        open.add(value);
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          if (!(i in value)) throw new NotJsonError(`${path}[${i}]`, 'is a hole in a sparse array');
          parts.push(dumps(value[i], `${path}[${i}]`, open));
        }
        open.delete(value);
        return `[${parts.join(', ')}]`;
      }
      if (!isPlainObject(value)) {
        const kind = (value as object).constructor?.name ?? 'object';
        throw new NotJsonError(
          path,
          `is a ${kind}, not a JSON value (plain object, array, string, number, boolean, null)`,
        );
      }
      open.add(value);
      const parts: string[] = [];
      for (const key of Object.keys(value)) {
        const child = (value as Record<string, unknown>)[key];
        parts.push(`${pythonJsonString(key)}: ${dumps(child, `${path}.${key}`, open)}`);
      }
      open.delete(value);
      return `{${parts.join(', ')}}`;
    }
    default:
      throw new NotJsonError(path, `is ${typeof value}, not a JSON value`);
  }
}
