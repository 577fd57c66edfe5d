/**
 * Business calendars through the client (`connect()`): a schedule created, upserted in bulk or read
 * back keeps its `calendars` and `onExcluded`; its next fires skip or move as they say; a name that
 * is no calendar is refused at the call, naming the field, on the single and the bulk path alike.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect, crontab, InvalidScheduleError, type MetronomeClient } from '../../src/index.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let client: MetronomeClient;

before(async () => {
  pg = await createMigratedDatabase();
  client = await connect({ databaseUrl: pg.url, actor: 'billing-app' });
  await pg.sql`insert into metronome.calendars (name, weekdays) values ('weekends', '{0,6}')`;
  await pg.sql`insert into metronome.calendar_days (calendar, first_day, last_day, label)
               values ('weekends', '2031-01-01', '2031-01-01', 'New Year')`;
});
after(async () => {
  await client?.close();
  await pg?.drop();
});

const close = (name: string) => ({
  name,
  task: 'ledger.close',
  schedule: crontab('0 9 L * *', { tz: 'Europe/Berlin' }),
  startAt: '2030-12-01T00:00:00Z',
  calendars: ['weekends'],
  onExcluded: 'previous' as const,
});

test('create and read back: calendars and onExcluded kept; the last business day of the month', async () => {
  await client.create(close('cal.single'));
  const info = await client.get('cal.single');
  assert.deepEqual(info?.calendars, ['weekends']);
  assert.equal(info?.onExcluded, 'previous');
  const fires = await client.nextFires('cal.single', { count: 3 });
  // 2030-12-31 is a Tuesday; 2031-01-31 a Friday; 2031-02-28 a Friday.
  assert.deepEqual(
    fires.map((f) => f.toISOString()),
    ['2030-12-31T08:00:00.000Z', '2031-01-31T08:00:00.000Z', '2031-02-28T08:00:00.000Z'],
  );
  const [row] =
    await pg.sql`select calendars, on_excluded from metronome.schedules where name = 'cal.single'`;
  assert.deepEqual(row?.calendars, ['weekends']);
});

test('bulk upsert keeps calendars; a calendar that does not exist is refused, naming the field', async () => {
  const result = await client.upsertMany([close('cal.bulk.1'), close('cal.bulk.2')]);
  assert.equal(result.created, 2, JSON.stringify(result));
  const [row] =
    await pg.sql`select calendars, on_excluded, next_fire_at from metronome.schedules where name = 'cal.bulk.1'`;
  assert.deepEqual(row?.calendars, ['weekends']);
  assert.equal(row?.on_excluded, 'previous');
  assert.equal((row?.next_fire_at as Date | undefined)?.toISOString(), '2030-12-31T08:00:00.000Z');
  const refused = await client.upsertMany([{ ...close('cal.bulk.3'), calendars: ['ghost'] }]);
  assert.equal(refused.created, 0);
  assert.equal(refused.errors[0]?.field, 'calendars');
  assert.match(
    refused.errors[0]?.reason ?? '',
    /calendars\[0\] "ghost" is invalid: no calendar has this name/,
  );
  await assert.rejects(
    client.create({ ...close('cal.ghost'), calendars: ['ghost'] }),
    (error: unknown) =>
      error instanceof InvalidScheduleError && error.problems.some((p) => p.field === 'calendars'),
  );
});
