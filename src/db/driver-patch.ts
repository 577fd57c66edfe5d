/**
 * Whether the installed Postgres driver carries the project's patch (scripts/patch-postgres-driver.mjs;
 * docs/runtime.md, "The Postgres driver"): without it, a connection lost inside a transaction can end
 * the process, and one lost under a query can leave the pool waiting for ever.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

const MARKER = "Metronome's patch";

/** null when patched; otherwise what to tell the operator. */
export function unpatchedDriverWarning(): string | null {
  let file: string;
  try {
    file = fileURLToPath(new URL('./connection.js', import.meta.resolve('postgres')));
    if (fs.readFileSync(file, 'utf8').includes(MARKER)) return null;
  } catch {
    return null; // not the driver this check knows; nothing useful to say
  }
  return `the Postgres driver at ${file} is not patched: a connection lost inside a transaction can end this process. Run: node node_modules/metronome/scripts/patch-postgres-driver.mjs (docs/runtime.md, "The Postgres driver")`;
}
