/**
 * The database refuses what the row loader refuses in names, task names, queues and routing keys:
 * every Unicode control and format character (migration 0013), so a row written with SQL cannot
 * hold a name that looks like another one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const fixture = migratedDatabasePerFile();

const FORMAT = ['\u200b', '\u2060', '\ufeff', '\u00ad', '\u180e', '\u{e0041}', '\u{1d173}', '\u0600'];

test('a name, task, queue or routing key with a format character is refused by the database', async () => {
  const sql = fixture.db.sql;
  for (const ch of FORMAT) {
    for (const column of ['name', 'task', 'queue', 'routing_key']) {
      const values = {
        name: `db.${column}`,
        task: 't',
        queue: null as string | null,
        routing_key: null as string | null,
      };
      (values as Record<string, string | null>)[column] = `x${ch}y`;
      await assert.rejects(
        sql`insert into metronome.schedules (name, task, queue, routing_key, kind, every_ms, managed_by)
            values (${values.name}, ${values.task}, ${values.queue}, ${values.routing_key}, 'interval', 60000, 'db')`,
        (error: { code?: string }) => error.code === '23514',
        `${column} with U+${ch.codePointAt(0)!.toString(16)} was stored`,
      );
    }
  }
  await sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
            values ('café 日報 🚀', 't', 'interval', 60000, 'db')`;
});
