/** What commands print on stdout: text, or JSON (the only thing `--json` prints). */
import { stringifyJson } from '../model/json.ts';
import { escapeNonPrintable } from '../model/limits.ts';

/**
 * Print a value as JSON: numbers as the database holds them (exact), and control characters JSON
 * leaves raw (C1, line separators, bidi) escaped as `\uXXXX`.
 */
export function printJson(value: unknown): void {
  process.stdout.write(`${escapeNonPrintable(stringifyJson(value, 2), 'json')}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
