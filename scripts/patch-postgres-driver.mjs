#!/usr/bin/env node
/**
 * Patches the installed Postgres driver (postgres.js 3.4.x) so that a connection lost under a query
 * or a transaction is an error its caller sees, never a crash or a query that waits for ever
 * (docs/runtime.md, "The Postgres driver"; porsager/postgres#1208, unfixed in 3.4.9):
 *   1. execute() on a connection whose socket has closed (a transaction's ROLLBACK after its backend
 *      died) fails that query at once, instead of scheduling a write that dereferences the closed
 *      socket in an immediate, which ends the process;
 *   2. nextWrite() never touches a closed socket;
 *   3. closing forgets the dead socket's unsent bytes and cancelled timer, which otherwise hold back
 *      the next socket's start-up message for ever;
 *   4. closing rejects every query still waiting, also after a socket error (ECONNRESET): one sent
 *      between the error and the close was never settled, and the pool's connection with it.
 *
 * Runs on `npm install`/`npm ci` of this repository and as this package's postinstall; where npm does
 * not run install scripts (npm 11 asks before running a dependency's), run it once after installing:
 *   node node_modules/metronome/scripts/patch-postgres-driver.mjs
 * Idempotent. Exits 0 and says why when it cannot patch (another driver version), so an install never
 * fails because of it; `beat run` warns while the driver is unpatched.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const MARKER = "Metronome's patch";

const EDITS = [
  {
    find: `    if (terminated)
      return queryError(q, Errors.connection('CONNECTION_DESTROYED', options))
`,
    add: `
    // ${MARKER} (1): a query on a connection whose socket closed fails at once; true keeps the
    // connection in the pool's closed queue, whence it is reconnected.
    if (!socket)
      return queryError(q, Errors.connection('CONNECTION_CLOSED', options)), true
`,
  },
  {
    find: `  function nextWrite(fn) {
`,
    add: `    if (!socket) {
      // ${MARKER} (2): never dereference a closed socket in an immediate.
      chunk = nextWriteTimer = null
      return false
    }
`,
  },
  {
    find: `    incomings = null
    clearImmediate(nextWriteTimer)
`,
    add: `    // ${MARKER} (3): forget the dead socket's unsent bytes and cancelled timer.
    chunk = nextWriteTimer = null
`,
  },
  {
    find: `    !hadError && (query || sent.length) && error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
    replace: `    // ${MARKER} (4): reject every query still waiting, also after a socket error.
    if (query || sent.length) error(Errors.connection('CONNECTION_CLOSED', options, socket))
`,
  },
];

/** The driver's connection modules (ESM and CommonJS) as this package resolves them. */
export function driverFiles(from = import.meta.url) {
  const entry = createRequire(from).resolve('postgres'); // <root>/cjs/src/index.js
  const root = path.resolve(path.dirname(entry), '..', '..');
  return ['src/connection.js', 'cjs/src/connection.js'].map((file) => path.join(root, file));
}

/** 'patched', 'already patched', or why not. */
export function patchFile(file) {
  const source = fs.readFileSync(file, 'utf8');
  if (source.includes(MARKER)) return 'already patched';
  let patched = source;
  for (const edit of EDITS) {
    const at = patched.indexOf(edit.find);
    if (at < 0 || patched.indexOf(edit.find, at + 1) >= 0)
      return `not patched: this driver version's code differs (${JSON.stringify(edit.find.trim().slice(0, 40))}…)`;
    const end = at + edit.find.length;
    patched =
      edit.replace === undefined
        ? patched.slice(0, end) + edit.add + patched.slice(end)
        : patched.slice(0, at) + edit.replace + patched.slice(end);
  }
  fs.writeFileSync(file, patched);
  return 'patched';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  let files;
  try {
    files = driverFiles();
  } catch (error) {
    console.log(`metronome: the Postgres driver was not found (${error.message}); nothing patched`);
    process.exit(0);
  }
  for (const file of files) {
    let outcome;
    try {
      outcome = patchFile(file);
    } catch (error) {
      outcome = `not patched: ${error.message}`;
    }
    if (outcome !== 'already patched') console.log(`metronome: ${file}: ${outcome}`);
  }
}
