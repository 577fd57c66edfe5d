/**
 * celery beat's args, kwargs and headers — JSON that Python wrote or will read — as values that reach
 * a worker unchanged through a row, and the test of whether a declaration file can hold them. Pure.
 *
 * celery beat sends what Python's JSON writer makes of its values: `2**60` as that integer, `1.0`
 * and `1e+21` as floats, `-0.0` with its sign. Python reads a number with a fraction or an exponent
 * as a float, any other as an int. So each number is kept as Python would send it
 * ({@link ExactNumber}, never rounded through a double), in a form Postgres jsonb stores without
 * turning a float into an int: jsonb keeps digits, not exponents (`1e+21` would come back as the
 * integer `1000000000000000000000`), so a whole float is written `1000000000000000000000.0`. The one
 * thing jsonb cannot keep is the sign of `-0.0` (it stores `0.0`): {@link negativeZeros} names them.
 *
 * A declaration file holds JavaScript numbers: integers up to 2^53 and floats with a fraction come
 * back exactly; a larger integer is rounded, and a whole float is sent as an int.
 * {@link undeclarable} lists those, and such an entry is imported as a row instead.
 */
import { ExactNumber, isJsonObject, type JsonValue, parseJsonExact } from '../model/json.ts';
import type { ImportNote } from './entry.ts';

/** Python's `json.loads` of `text`, as the value celery beat would send (throws SyntaxError). */
export function pythonJson(text: string): JsonValue {
  return asPythonSends(parseJsonExact(text));
}

/** A value from parseJsonExact, each number in the form Python sends and jsonb keeps. */
function asPythonSends(value: JsonValue): JsonValue {
  if (value instanceof ExactNumber) return pythonNumber(value.text);
  if (Array.isArray(value)) return value.map(asPythonSends);
  if (isJsonObject(value)) {
    const out: Record<string, JsonValue> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: asPythonSends(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

class NotJsonNumberError extends Error {}

function pythonNumber(text: string): JsonValue {
  if (/^-?\d+$/.test(text)) {
    const n = BigInt(text);
    return Number.isSafeInteger(Number(n)) ? Number(n) : new ExactNumber(n.toString());
  }
  const d = Number(text);
  if (!Number.isFinite(d)) {
    throw new NotJsonNumberError(
      `${text} is beyond a float's range: Python reads it as infinity, which celery beat cannot send as JSON`,
    );
  }
  if (Object.is(d, -0)) return new ExactNumber('-0.0');
  return new ExactNumber(plainFloat(d));
}

/** A finite double as plain decimal digits with a point (`1e+21` → `1000000000000000000000.0`). */
function plainFloat(d: number): string {
  const sign = d < 0 ? '-' : '';
  const shortest = String(Math.abs(d));
  const [mantissa = '', exponent] = shortest.split('e');
  let text = mantissa;
  if (exponent !== undefined) {
    const digits = mantissa.replace('.', '');
    const point = (mantissa.includes('.') ? mantissa.indexOf('.') : mantissa.length) + Number(exponent);
    if (point <= 0) text = `0.${'0'.repeat(-point)}${digits}`;
    else if (point >= digits.length) text = `${digits}${'0'.repeat(point - digits.length)}`;
    else text = `${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return `${sign}${text.includes('.') ? text : `${text}.0`}`;
}

/** A number shown as Python shows it: `1e+21`, `1.0`, `-0.0`, `1152921504606846976`. */
export function pythonRepr(n: ExactNumber): string {
  if (n.isInteger) return n.text;
  const d = Number(n.text);
  if (Object.is(d, -0)) return '-0.0';
  if (!Number.isInteger(d)) return String(d);
  return Math.abs(d) >= 1e16 ? d.toExponential().replace(/e\+?/, 'e+') : `${d}.0`;
}

export interface NumberAt {
  /** `args.0`, `kwargs.n`, `headers.tenant`. */
  path: string;
  number: ExactNumber;
}

function numbersIn(value: JsonValue, path: string, out: NumberAt[]): NumberAt[] {
  if (value instanceof ExactNumber) out.push({ path, number: value });
  else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) numbersIn(item, `${path}.${i}`, out);
  } else if (isJsonObject(value)) {
    for (const [key, item] of Object.entries(value)) numbersIn(item, `${path}.${key}`, out);
  }
  return out;
}

type Message = { args?: JsonValue[]; kwargs?: unknown; headers?: unknown };

function messageNumbers(message: Message): NumberAt[] {
  const out: NumberAt[] = [];
  for (const column of ['args', 'kwargs', 'headers'] as const) {
    const value = message[column];
    if (value !== undefined) numbersIn(value as JsonValue, column, out);
  }
  return out;
}

/** The numbers a JavaScript declaration would change: integers beyond 2^53, whole floats, -0.0. */
export function undeclarable(message: Message): NumberAt[] {
  return messageNumbers(message).filter(({ number }) => {
    const d = Number(number.text);
    return number.isInteger || Number.isInteger(d);
  });
}

/** The `-0.0`s, which jsonb stores as `0.0`. */
function negativeZeros(message: Message): NumberAt[] {
  return messageNumbers(message).filter(({ number }) => Object.is(Number(number.text), -0));
}

/** The note on each `-0.0`: what the worker will receive instead. */
export function negativeZeroNotes(message: Message): ImportNote[] {
  return negativeZeros(message).map(({ path }) => ({
    option: path,
    value: '-0.0',
    kind: 'mapped',
    reason: 'stored and sent as 0.0: Postgres jsonb has no negative zero',
  }));
}

/** In a declaration file: the nearest JavaScript number, exact for what {@link undeclarable} allows. */
export function declarationNumber(n: ExactNumber): string {
  return String(Number(n.text));
}
