/**
 * JSON values as they travel in `args`, `kwargs` and `headers`: checked by hand rather than with
 * `z.json()`, so a person learns *which* key holds a Date or a function and what to write instead.
 *
 * Numbers read from the database keep their text where a JavaScript number would change it
 * ({@link ExactNumber}): jsonb holds `1234567890123456789` and `1.0` exactly, and a Python worker
 * must receive exactly that (docs/transports.md, "Exact numbers"). The parser and the writer here
 * are the only JSON code that sees such values; everything else passes them along.
 */

/**
 * A JSON number kept as its text: an integer beyond 2^53 (a double would round it), or any number
 * with a fraction or an exponent (`1.0` would become `1`, `0.000001` would become `1e-6`). Written
 * back verbatim by {@link stringifyJson} and by the transports' encoders.
 */
export class ExactNumber {
  constructor(readonly text: string) {}

  /** An integer literal: Python reads it as an `int`, anything else as a `float`. */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.text);
  }

  /** In a JSON.stringify that does not know it: the nearest double, as a plain number would be. */
  toJSON(): number {
    return Number(this.text);
  }
}

/** A JSON value: what Celery (and any worker) will receive after serialization. */
export type JsonValue =
  | string
  | number
  | ExactNumber
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Python refuses to read an integer literal longer than this (`sys.int_info.default_max_str_digits`). */
const PYTHON_MAX_INT_DIGITS = 4_300;

/** Where and why a value is not plain JSON, or null when it is. */
export function jsonProblem(
  value: unknown,
  path: (string | number)[] = [],
): { path: (string | number)[]; reason: string } | null {
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'string') {
    return value.includes('\u0000')
      ? { path, reason: 'contains the NUL character (\\u0000), which Postgres jsonb cannot store' }
      : null;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? null : { path, reason: `${value} is not a JSON number` };
  }
  if (value instanceof ExactNumber) {
    const digits = value.text.replace(/^-/, '').length;
    return value.isInteger && digits > PYTHON_MAX_INT_DIGITS
      ? {
          path,
          reason: `an integer of ${digits} digits: Python (a Celery worker) refuses to read integers longer than ${PYTHON_MAX_INT_DIGITS} digits; pass it as a string`,
        }
      : null;
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
      if (key.includes('\u0000')) {
        return {
          path: [...path, key],
          reason: 'the key contains the NUL character (\\u0000), which Postgres jsonb cannot store',
        };
      }
      const problem = jsonProblem(item, [...path, key]);
      if (problem) return problem;
    }
    return null;
  }
  return { path, reason: `a ${typeof value} is not JSON` };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof ExactNumber)
  );
}

// ---------------------------------------------------------------------------------------------------
// Reading: JSON text → values, numbers kept exact
// ---------------------------------------------------------------------------------------------------

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/**
 * `JSON.parse`, except that a number a double would not hold exactly (an integer beyond 2^53, or
 * any number written with a fraction or an exponent) is kept as an {@link ExactNumber}. A key
 * `__proto__` is an ordinary key, as in JSON.parse.
 */
export function parseJsonExact(text: string): JsonValue {
  const reader = { text, at: 0 };
  const value = readValue(reader);
  skipWhitespace(reader);
  if (reader.at !== text.length) throw syntaxError(reader, 'unexpected text after the value');
  return value;
}

interface Reader {
  text: string;
  at: number;
}

function skipWhitespace(r: Reader): void {
  WHITESPACE.lastIndex = r.at;
  WHITESPACE.exec(r.text);
  r.at = WHITESPACE.lastIndex;
}

function syntaxError(r: Reader, what: string): SyntaxError {
  return new SyntaxError(`JSON: ${what} at position ${r.at}`);
}

function readValue(r: Reader): JsonValue {
  skipWhitespace(r);
  const c = r.text[r.at];
  if (c === '{') return readObject(r);
  if (c === '[') return readArray(r);
  if (c === '"') return readString(r);
  for (const [word, value] of [
    ['true', true],
    ['false', false],
    ['null', null],
  ] as const) {
    if (r.text.startsWith(word, r.at)) {
      r.at += word.length;
      return value;
    }
  }
  NUMBER.lastIndex = r.at;
  const match = NUMBER.exec(r.text);
  if (!match) throw syntaxError(r, 'unexpected character');
  r.at = NUMBER.lastIndex;
  return numberOf(match[0]);
}

/** A plain number when it is an integer a double holds exactly; else the text. */
function numberOf(text: string): number | ExactNumber {
  if (/^-?\d+$/.test(text) && text !== '-0') {
    const n = Number(text);
    if (Number.isSafeInteger(n)) return n;
  }
  return new ExactNumber(text);
}

function readString(r: Reader): string {
  const start = r.at;
  let i = start + 1;
  for (;;) {
    const c = r.text.charCodeAt(i);
    if (Number.isNaN(c)) throw syntaxError(r, 'unterminated string');
    if (c === 0x22) break;
    i += c === 0x5c ? 2 : 1;
  }
  r.at = i + 1;
  // The escapes are JSON's own: let JSON.parse decode them.
  return JSON.parse(r.text.slice(start, r.at)) as string;
}

function readArray(r: Reader): JsonValue[] {
  r.at++;
  const out: JsonValue[] = [];
  skipWhitespace(r);
  if (r.text[r.at] === ']') {
    r.at++;
    return out;
  }
  for (;;) {
    out.push(readValue(r));
    skipWhitespace(r);
    const c = r.text[r.at++];
    if (c === ']') return out;
    if (c !== ',') throw syntaxError(r, 'expected , or ]');
  }
}

function readObject(r: Reader): JsonObject {
  r.at++;
  const out: JsonObject = {};
  skipWhitespace(r);
  if (r.text[r.at] === '}') {
    r.at++;
    return out;
  }
  for (;;) {
    skipWhitespace(r);
    if (r.text[r.at] !== '"') throw syntaxError(r, 'expected a key');
    const key = readString(r);
    skipWhitespace(r);
    if (r.text[r.at++] !== ':') throw syntaxError(r, 'expected :');
    // defineProperty: an assignment to "__proto__" would set the prototype instead of a key.
    Object.defineProperty(out, key, {
      value: readValue(r),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    skipWhitespace(r);
    const c = r.text[r.at++];
    if (c === '}') return out;
    if (c !== ',') throw syntaxError(r, 'expected , or }');
  }
}

// ---------------------------------------------------------------------------------------------------
// Writing: values → JSON text, exact numbers verbatim
// ---------------------------------------------------------------------------------------------------

/**
 * `JSON.stringify(value, null, indent)`, with every {@link ExactNumber} written as its own text.
 * Everything else comes out byte for byte as JSON.stringify writes it.
 */
export function stringifyJson(value: unknown, indent = 0): string {
  return write(value, '', indent > 0 ? ' '.repeat(indent) : '', '') ?? 'null';
}

function write(value: unknown, key: string, step: string, margin: string): string | undefined {
  if (value instanceof ExactNumber) return value.text;
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON: (key: string) => unknown }).toJSON(key);
    if (value instanceof ExactNumber) return value.text;
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = margin + step;
  const open = step ? `\n${inner}` : '';
  const close = step ? `\n${margin}` : '';
  const separator = step ? `,\n${inner}` : ',';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item, i) => write(item, String(i), step, inner) ?? 'null');
    return `[${open}${items.join(separator)}${close}]`;
  }
  const parts: string[] = [];
  for (const [k, item] of Object.entries(value)) {
    const text = write(item, k, step, inner);
    if (text !== undefined) parts.push(`${JSON.stringify(k)}:${step ? ' ' : ''}${text}`);
  }
  return parts.length === 0 ? '{}' : `{${open}${parts.join(separator)}${close}}`;
}

// ---------------------------------------------------------------------------------------------------
// Comparing
// ---------------------------------------------------------------------------------------------------

/**
 * JSON text with object keys sorted and numbers in one canonical form, so two values compare equal
 * exactly when jsonb says they are equal: jsonb does not keep key order, and `1.0 = 1` in jsonb.
 * This is how sync decides whether a row still matches its declaration.
 */
export function canonicalJson(value: unknown): string {
  if (value instanceof ExactNumber) return canonicalNumber(value.text);
  if (typeof value === 'number' && Number.isFinite(value)) return canonicalNumber(String(value));
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isJsonObject(value) && !(value instanceof Date)) {
    const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** A number's value as `[-]digits e exponent`, with no leading or trailing zeros in the digits. */
function canonicalNumber(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  let power = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    power++;
  }
  return `${sign}${digits}e${power}`;
}
