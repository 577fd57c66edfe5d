/**
 * Pause until an instant (`beat pause NAME --until T`, issue 19), on real Postgres with the default
 * claim ahead: nothing is sent while paused (a slot claimed ahead before the pause is taken back),
 * the leader resumes the schedule by itself at T — recorded in the audit log as done by the beat —
 * and the paused stretch follows the catch-up policy as a manual resume does. Every wait is for a
 * state, with a bound.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { recentActions } from '../../src/db/sql/audit.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { pause, resume } from '../../src/operate/pause.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport);

async function dbNow(): Promise<number> {
  const [row] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  return Number(row?.ms);
}

async function every(name: string, everyMs: number, catchup = 'latest'): Promise<void> {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, catchup)
    values (${name}, 'tasks.paused', 'interval', ${everyMs}, 'db', 'allow', ${catchup})`;
}

async function pausedColumns(name: string) {
  const [row] = await file.db.sql<
    { paused_at: Date | null; paused_until: Date | null; paused_reason: string | null }[]
  >`
    select paused_at, paused_until, paused_reason from metronome.schedules where name = ${name}`;
  assert.ok(row);
  return row;
}

test('paused until T: nothing is sent until T, then the leader resumes it by itself (recorded as the beat) and it fires again', async () => {
  const name = 'until-resumes';
  await every(name, 1_000);
  await eventually('firing', 10_000, () => transport.of(name).length >= 2);
  const database = file.running.database;
  const { record } = await pause(database, name, { reason: 'deploy freeze', until: '4s' }, cliActor());
  const pausedAt = record.pausedAt?.getTime() ?? 0;
  const until = record.pausedUntil?.getTime() ?? 0;
  assert.ok(
    until - pausedAt > 3_000 && until - pausedAt < 5_000,
    `until is 4 s after the pause: ${until - pausedAt}`,
  );
  await eventually('resumed by itself', 15_000, async () => (await pausedColumns(name)).paused_at === null);
  assert.deepEqual(await pausedColumns(name), { paused_at: null, paused_until: null, paused_reason: null });
  const [resumed] = await recentActions(database.db, 1, name);
  assert.equal(resumed?.action, 'resume');
  assert.equal(resumed?.via, 'beat');
  assert.match(resumed?.actor ?? '', /^beat /);
  assert.equal(resumed?.detail.byItself, true);
  assert.equal(resumed?.detail.reason, 'deploy freeze');
  assert.ok((await dbNow()) >= until, 'not resumed before its end');
  const sentBefore = transport.of(name).length;
  await eventually('firing again', 10_000, () => transport.of(name).length > sentBefore);
  // While paused nothing went out: no send between the pause (plus the one claim that may have been
  // on its way) and the end; a slot claimed ahead before the pause was taken back, not sent.
  const during = transport.of(name).filter((s) => s.at > pausedAt + 1_000 && s.at < until);
  assert.deepEqual(during, [], 'nothing sent while paused');
  // The paused stretch follows catch-up `latest`: slots not run are recorded missed, not lost.
  const [missed] = await file.db.sql<{ n: number }[]>`
    select count(*)::int as n from metronome.occurrences
    where schedule_name = ${name} and status = 'missed' and scheduled_for > ${new Date(pausedAt + 1_000)}
      and scheduled_for < ${new Date(until - 1_000)}`;
  const n = missed?.n ?? 0;
  assert.ok(n >= 1, `the paused slots are recorded missed (${n})`);
});

test('a manual resume before T ends the pause and its end; a new pause without --until has none', async () => {
  const name = 'until-manual';
  await every(name, 3_600_000);
  const database = file.running.database;
  await pause(database, name, { reason: 'a while', until: '1h' }, cliActor());
  assert.ok((await pausedColumns(name)).paused_until);
  await pause(database, name, { reason: null }, cliActor());
  const again = await pausedColumns(name);
  assert.equal(again.paused_until, null, 'a pause without --until has no end');
  assert.equal(again.paused_reason, 'a while', 'and keeps its reason');
  await pause(database, name, { reason: 'again', until: '2h' }, cliActor());
  await resume(database, name, cliActor());
  assert.deepEqual(await pausedColumns(name), { paused_at: null, paused_until: null, paused_reason: null });
  const [action] = await recentActions(database.db, 1, name);
  assert.equal(action?.via, 'cli');
  assert.equal(action?.detail.byItself, undefined);
});

test('refused with a one-line error naming the schedule and the fix: an end in the past, not an instant', async () => {
  const name = 'until-refused';
  await every(name, 3_600_000);
  const database = file.running.database;
  await assert.rejects(
    pause(database, name, { reason: 'x', until: '2001-01-01T00:00:00Z' }, cliActor()),
    /cannot pause "until-refused" until 2001-01-01T00:00:00.000Z: that is not in the future .*give a later instant/,
  );
  await assert.rejects(
    pause(database, name, { reason: 'x', until: 'next tuesday' }, cliActor()),
    /cannot pause "until-refused": until "next tuesday" is invalid: .*a duration from now such as "90m"/,
  );
  await assert.rejects(
    pause(database, name, { reason: 'x', until: '2026-12-14T09:00:00' }, cliActor()),
    /until "2026-12-14T09:00:00" is invalid: not an instant with an offset/,
  );
  assert.equal((await pausedColumns(name)).paused_at, null, 'nothing written');
});
