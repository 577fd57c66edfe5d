/**
 * Python's `repr()` of JSON-decoded values, and the `argsrepr` / `kwargsrepr` header strings.
 *
 * Numbers are shown as Python sees them after decoding the body we send (see `pythonNumber`): a safe
 * integer is an `int` (`5`), anything else a `float` (`0.1`, `1e+100`).
 *
 * Note the two different things here:
 * - {@link pythonRepr} is the builtin `repr()`: quotes chosen like Python (`"it's"`), control and
 *   non-printable characters escaped (`\n`, `\x00`, `\u200b`).
 * - {@link argsRepr} / {@link kwargsRepr} are what Celery's `apply_async` really puts in the headers:
 *   `celery.utils.saferepr.saferepr(args, 1024)`, which always single-quotes strings with `'` written as
 *   `\'`, leaves every other character as it is (a newline stays a newline), shows containers nested
 *   deeper than three levels as `[...]` and cuts the text near 1024 characters. Both headers are used
 *   only in logs and events.
 */
import { ExactNumber, type JsonValue, pythonExactNumber, pythonNumber } from './json.ts';
import { PyTuple, saferepr } from './saferepr.ts';

/** Celery's `argsrepr_maxsize` and `kwargsrepr_maxsize` defaults. */
const REPR_MAXSIZE = 1024;

// Python's str.isprintable(): false for categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs, except the space.
// JavaScript's Unicode tables may be newer than the worker's Python (Node 20: Unicode 15+, Python 3.11:
// 14.0), so a character assigned in between is printable here and escaped there; logs only.
const NOT_PRINTABLE = /^[\p{C}\p{Z}]$/u;

/** `repr(s)` for a Python `str`. */
export function pythonStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (!NOT_PRINTABLE.test(ch)) out += ch;
    else if (cp <= 0xff) out += `\\x${hex(cp, 2)}`;
    else if (cp <= 0xffff) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return out + quote;
}

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** Python's `repr()` of the value Python gets by `json.loads` of our JSON for `value`. */
export function pythonRepr(value: JsonValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return pythonNumber(value);
  if (value instanceof ExactNumber) return pythonExactNumber(value);
  if (typeof value === 'string') return pythonStrRepr(value);
  if (Array.isArray(value)) return `[${value.map(pythonRepr).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${pythonStrRepr(k)}: ${pythonRepr(v)}`)
    .join(', ')}}`;
}

/** `repr(tuple(args))` with the builtin repr: `()`, `(1,)`, `(2, 3)`. */
export function pythonTupleRepr(args: readonly JsonValue[]): string {
  if (args.length === 1) return `(${pythonRepr(args[0] as JsonValue)},)`;
  return `(${args.map(pythonRepr).join(', ')})`;
}

/** The `argsrepr` header as Celery writes it: `saferepr(tuple(args), 1024)`, e.g. `(2, 3)`, `(1,)`, `()`. */
export function argsRepr(args: readonly JsonValue[], maxsize = REPR_MAXSIZE): string {
  return saferepr(new PyTuple(args), maxsize);
}

/** The `kwargsrepr` header as Celery writes it: `saferepr(kwargs, 1024)`, e.g. `{'a': 1}`. */
export function kwargsRepr(kwargs: Readonly<Record<string, JsonValue>>, maxsize = REPR_MAXSIZE): string {
  return saferepr(kwargs as JsonValue, maxsize);
}
