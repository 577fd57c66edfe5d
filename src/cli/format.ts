/**
 * Formatting of instants and tables for people. Whatever a row holds is shown, never thrown on: an
 * instant JavaScript cannot hold reads `invalid`, and control characters in names or messages are
 * escaped so they cannot forge table rows or drive the terminal.
 */
import { stringifyJson } from '../model/json.ts';
import { escapeNonPrintable } from '../model/limits.ts';
import { isoOrInvalid } from '../model/schedule.ts';

export { describeDst, formatLocal, formatOffset } from '../model/describe.ts';

/** ISO 8601, null for none, `invalid` for a date that is not one (an infinite timestamp). */
export function isoOf(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : isoOrInvalid(date);
}

/** Text as it may be printed: control characters escaped (`\n`, `\x1b`). */
export function shown(text: string): string {
  return escapeNonPrintable(text);
}

/** A plain text table with left-aligned columns; every cell escaped (see {@link shown}). */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(shown));
  // A loop, not Math.max(...rows): spreading a long table's rows overflows the call stack.
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), h.length));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A value as short JSON for a change list (`kwargs: {...} -> {...}`). */
export function shortJson(value: unknown): string {
  // stringifyJson: a number kept exact (2**60, 1.0) is shown as it is, not as the nearest double.
  const text = value === undefined ? 'undefined' : stringifyJson(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
