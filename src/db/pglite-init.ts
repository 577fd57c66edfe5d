/**
 * Run as a child process by openPglite (database.ts): create the embedded database folder given as
 * the first argument (PGlite's initdb) and exit. initdb briefly holds two more WebAssembly
 * Postgres instances and a copy of the new cluster — about 750 MB — which a long-running beat
 * would otherwise keep as resident memory it never gives back; a child returns all of it on exit.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLITE_SETTINGS } from './pglite-settings.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: pglite-init <data folder>');
const client = await PGlite.create(dir, { postgresqlconf: PGLITE_SETTINGS });
await client.close();
