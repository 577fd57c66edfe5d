import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pruneOccurrences } from '../../src/db/sql/occurrences.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();

test('pruning deletes finished occurrences by age and by count per schedule, never unfinished ones', async () => {
  const { db, database } = file;
  // Schedule 1: 50 old finished rows, 2 old unfinished; schedule 2: 30 recent finished rows.
  await db.sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
      select 1, 'a', now() - interval '40 days' + i * interval '1 minute', now(), 'a-' || i,
             case when i <= 2 then 'claimed' else 'succeeded' end
      from generate_series(1, 52) i`;
  await db.sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
      select 2, 'b', now() - i * interval '1 minute', now(), 'b-' || i, 'missed' from generate_series(1, 30) i`;
  const result = await pruneOccurrences(database, { maxAgeMs: 30 * 86_400_000, perSchedule: 20 });
  assert.deepEqual(result, { byAge: 50, byCount: 10 });
  const left = await db.sql<{ schedule_name: string; status: string; n: number }[]>`
      select schedule_name, status, count(*)::int as n from metronome.occurrences group by 1, 2 order by 1, 2`;
  assert.deepEqual(
    left.map((r) => [r.schedule_name, r.status, r.n]),
    [
      ['a', 'claimed', 2],
      ['b', 'missed', 20],
    ],
  );
  const newest = await db.sql`select 1 from metronome.occurrences where task_id = 'b-1'`;
  assert.equal(newest.length, 1, 'the newest rows are kept');
});
