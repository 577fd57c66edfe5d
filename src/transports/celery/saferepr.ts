/**
 * A faithful port of `celery.utils.saferepr.saferepr` (Celery 5.2) restricted to JSON values plus a tuple,
 * which is all a task's args and kwargs can be once they have crossed JSON. It is a streaming repr: the
 * value is walked as a sequence of tokens, `maxlen` counts down as text is written, and once it reaches 0
 * the output ends with `, ...` followed by the closing brackets still open. Containers nested
 * `maxlevels` deep are written as `[...]` / `{...}`. Quirks are kept on purpose (a string as long as the
 * remaining budget is cut with `...`; `truncate` cuts at the last space), so the header matches Python's.
 *
 * Lengths are counted in code points, as Python's `len(str)` does.
 */
import { ExactNumber, type JsonValue, pythonExactNumber, pythonNumber } from './json.ts';

/** A Python tuple: `argsrepr` is the repr of `tuple(args)`. */
export class PyTuple {
  constructor(readonly items: readonly JsonValue[]) {}
}

type ReprValue = JsonValue | PyTuple;

interface Lit {
  readonly kind: 'lit';
  readonly value: string;
  /** May be dropped when the text is cut short (separators); brackets never are. */
  readonly truncate: boolean;
  readonly direction: -1 | 0 | 1;
}
type Item =
  | Lit
  | { readonly kind: 'key'; readonly value: string }
  | { readonly kind: 'dirty' }
  | { readonly kind: 'value'; readonly value: ReprValue };
type Token =
  | Lit
  | { readonly kind: 'key'; readonly value: string }
  | { readonly kind: 'quoted'; readonly value: string }
  | { readonly kind: 'text'; readonly value: string };

const lit = (value: string, truncate: boolean, direction: -1 | 0 | 1): Lit => ({
  kind: 'lit',
  value,
  truncate,
  direction,
});
const LIT_DICT_START = lit('{', false, 1);
const LIT_DICT_KVSEP = lit(': ', true, 0);
const LIT_DICT_END = lit('}', false, -1);
const LIT_LIST_START = lit('[', false, 1);
const LIT_LIST_END = lit(']', false, -1);
const LIT_LIST_SEP = lit(', ', true, 0);
const LIT_TUPLE_START = lit('(', false, 1);
const LIT_TUPLE_END = lit(')', false, -1);
const LIT_TUPLE_END_SV = lit(',)', false, -1);
const DIRTY: Item = { kind: 'dirty' };

const pyLen = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};
const pySlice = (s: string, end: number): string => Array.from(s).slice(0, end).join('');

/** `celery.utils.text.truncate`: note `>=`, so a text exactly `maxlen` long also gets the suffix. */
function truncate(s: string, maxlen: number | undefined, suffix = '...'): string {
  if (maxlen && pyLen(s) >= maxlen) {
    const head = pySlice(s, maxlen);
    const cut = head.lastIndexOf(' ');
    return (cut === -1 ? head : head.slice(0, cut)) + suffix;
  }
  return s;
}

function formatChars(val: string, maxlen: number | undefined): string {
  return `'${truncate(val, maxlen).replaceAll("'", "\\'")}'`;
}

function* chainList(items: readonly JsonValue[]): Generator<Item> {
  for (let i = 0; i < items.length; i++) {
    yield { kind: 'value', value: items[i] as JsonValue };
    if (i < items.length - 1) yield LIT_LIST_SEP;
  }
}

function* chainDict(obj: { readonly [key: string]: JsonValue }): Generator<Item> {
  const keys = Object.keys(obj);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    yield { kind: 'key', value: k };
    yield LIT_DICT_KVSEP;
    yield { kind: 'value', value: obj[k] as JsonValue };
    if (i < keys.length - 1) yield LIT_LIST_SEP;
  }
}

function* chain(start: Lit, body: Iterator<Item>, end: Lit, rest: Iterator<Item>): Generator<Item> {
  yield start;
  for (let n = body.next(); !n.done; n = body.next()) yield n.value;
  yield DIRTY;
  yield end;
  for (let n = rest.next(); !n.done; n = rest.next()) yield n.value;
}

function scalarText(v: null | boolean | number | ExactNumber): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (v instanceof ExactNumber) return pythonExactNumber(v);
  return pythonNumber(v);
}

/** `reprstream`: yields each token with the iterator it came from. */
function* reprstream(stack: Iterator<Item>[], maxlevels: number): Generator<[Token, Iterator<Item>]> {
  let level = 0;
  while (stack.length > 0) {
    const it = stack.shift() as Iterator<Item>;
    for (let n = it.next(); !n.done; n = it.next()) {
      const val = n.value;
      if (val.kind === 'dirty') continue;
      if (val.kind === 'lit') {
        level += val.direction;
        yield [val, it];
        continue;
      }
      if (val.kind === 'key') {
        yield [val, it];
        continue;
      }
      const v = val.value;
      if (v === null || typeof v === 'boolean' || typeof v === 'number' || v instanceof ExactNumber) {
        yield [{ kind: 'text', value: scalarText(v) }, it];
        continue;
      }
      if (typeof v === 'string') {
        yield [{ kind: 'quoted', value: v }, it];
        continue;
      }
      let start: Lit;
      let end: Lit;
      let body: Iterator<Item>;
      if (v instanceof PyTuple) {
        start = LIT_TUPLE_START;
        end = v.items.length === 1 ? LIT_TUPLE_END_SV : LIT_TUPLE_END;
        body = chainList(v.items);
      } else if (Array.isArray(v)) {
        start = LIT_LIST_START;
        end = LIT_LIST_END;
        body = chainList(v);
      } else {
        start = LIT_DICT_START;
        end = LIT_DICT_END;
        body = chainDict(v as { readonly [key: string]: JsonValue });
      }
      if (maxlevels && level >= maxlevels) {
        yield [{ kind: 'text', value: `${start.value}...${end.value}` }, it];
        continue;
      }
      // Descend: the rest of this iterator is chained after the container, like a linked list.
      stack.push(chain(start, body, end, it));
      break;
    }
  }
}

/** `saferepr(o, maxlen, maxlevels)`. */
export function saferepr(o: ReprValue, maxlen?: number, maxlevels = 3): string {
  const out: string[] = [];
  const stack: Iterator<Item>[] = [[{ kind: 'value', value: o } as Item][Symbol.iterator]()];
  let budget = maxlen;
  const tokens = reprstream(stack, maxlevels);
  for (let n = tokens.next(); !n.done; n = tokens.next()) {
    const [token, it] = n.value;
    if (budget !== undefined && budget <= 0) {
      out.push(', ...');
      stack.push(it);
      break;
    }
    let val: string;
    if (token.kind === 'lit') val = token.value;
    else if (token.kind === 'key' || token.kind === 'quoted') val = formatChars(token.value, budget);
    else val = truncate(token.value, budget);
    out.push(val);
    if (budget !== undefined) budget -= pyLen(val);
  }
  // Cut short: close whatever is still open.
  for (const rest of stack) {
    for (let n = rest.next(); !n.done; n = rest.next()) {
      if (n.value.kind === 'lit' && !n.value.truncate) out.push(n.value.value);
    }
  }
  return out.join('');
}
