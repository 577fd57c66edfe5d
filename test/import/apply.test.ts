/**
 * The import's writes (src/import/apply.ts) in the audit log: each schedule it creates or changes
 * leaves an `import` record with the version it left, so a version conflict on an imported schedule
 * names the import that moved it, and counts from the import's creation when the name was used
 * before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyImport } from '../../src/import/apply.ts';
import { convertAll, type ImportedEntry } from '../../src/import/entry.ts';
import { connect, every, type MetronomeClient, VersionConflictError } from '../../src/index.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

function entry(kwargs: Record<string, number>): ImportedEntry {
  return {
    name: 'reused',
    origin: 'periodic task "reused" (id 1)',
    declaration: { name: 'reused', task: 'billing.invoice', schedule: every('1h'), kwargs },
    notes: [],
    lastRunAt: null,
    totalRuns: 0,
  };
}

const importOnce = (kwargs: Record<string, number>) =>
  applyImport(
    file.database,
    convertAll([entry(kwargs)], (e) => ({ entry: e }), Date.now()),
    { source: 'a test', dryRun: false, actor: cliActor() },
  );

test("a conflict on an imported schedule names the import's update, and nothing from before its creation", async () => {
  const client = await connect({ databaseUrl: file.db.url, actor: 'billing-app' });
  try {
    await conflictAfterReuse(client);
  } finally {
    await client.close();
  }
});

async function conflictAfterReuse(client: MetronomeClient): Promise<void> {
  // The name's earlier life: created, edited twice (versions 2 and 3), removed.
  await client.create({ name: 'reused', task: 'billing.invoice', schedule: every('1h') });
  await client.update('reused', { kwargs: { n: 1 } });
  await client.update('reused', { kwargs: { n: 2 } });
  await client.remove('reused');

  await importOnce({ n: 1 }); // version 1
  await importOnce({ n: 2 }); // version 2
  const conflict = await client.update('reused', { priority: 5 }, { version: 1 }).then(
    () => assert.fail('a write at version 1 went through after the import moved it to 2'),
    (error: unknown) => error,
  );
  assert.ok(conflict instanceof VersionConflictError, `expected a version conflict, got ${String(conflict)}`);
  assert.deepEqual(
    conflict.changes.map((c) => [c.action, c.detail.change, c.detail.version]),
    [['import', 'update', 2]],
    "only the import's update moved this schedule past version 1",
  );
  assert.match(conflict.message, /changed since version 1 \(now 2\): import kwargs by \S+@\S+ \(cli\)/);
}
