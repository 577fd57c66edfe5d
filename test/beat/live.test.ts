/**
 * One real beat process against real Postgres: a claimed-but-never-enqueued occurrence is re-sent
 * with its task id; edits (insert, update, disable, delete, sync) take effect within a second with no
 * restart and never fire retroactively; an invalid row is quarantined without disturbing the others;
 * catch-up policies after a stopped period; manual triggers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { taskIdFor } from '../../src/model/task-id.ts';
import { BeatProcess, eventually, STARTUP_MS, sleep } from '../support/beat-process.ts';
import { beatChild } from '../support/cli.ts';
import { declarationDir } from '../support/declarations.ts';
import { createTestDatabase, one, type TestDatabase } from '../support/pg.ts';

let db: TestDatabase;
let beat: BeatProcess;
let env: Record<string, string>;

before(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    METRONOME_LEASE_TTL: '2s',
    METRONOME_HTTP: 'off',
    METRONOME_SYNC_ON_START: 'false',
    METRONOME_RECONCILE_INTERVAL: '2s',
    REDIS_URL: '',
  };
  const migrate = await beatChild(['migrate'], { env });
  assert.equal(migrate.code, 0, migrate.stderr);
});

after(async () => {
  await beat?.stop();
  await db?.drop();
});

const idOf = async (name: string) =>
  Number(one(await db.sql<{ id: string }[]>`select id from metronome.schedules where name = ${name}`).id);

describe('one beat', () => {
  test('a claimed occurrence left by a dead leader is re-sent with the same task id', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, next_fire_at)
                 values ('resend', 'tasks.resend', 'interval', 3600000, 'db', now() + interval '1 hour')`;
    const id = await idOf('resend');
    const slot = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const taskId = taskIdFor(id, slot);
    await db.sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch)
                 values (${id}, 'resend', ${new Date(slot)}, ${new Date(slot)}, ${taskId}, 'claimed', 0)`;
    beat = new BeatProcess('beat', env);
    await beat.waitForLog('leading', STARTUP_MS);
    const sent = await eventually('the re-send', 5_000, () =>
      beat.enqueued.find((e) => e.schedule === 'resend'),
    );
    assert.equal(sent.taskId, taskId);
    const row = await eventually('the row to finish', 5_000, async () => {
      const [r] = await db.sql<
        { status: string }[]
      >`select status from metronome.occurrences where task_id = ${taskId}`;
      return r?.status === 'succeeded' ? r : undefined;
    });
    assert.equal(row.status, 'succeeded');
  });

  test('inserted, updated, disabled and deleted rows take effect within a second', async () => {
    const inserted = Date.now();
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, args, managed_by)
                 values ('live', 'tasks.live', 'interval', 1000, '[1]'::jsonb, 'db')`;
    const first = await eventually('a fire of the new row', 3_000, () =>
      beat.enqueued.find((e) => e.schedule === 'live'),
    );
    assert.ok(
      first.receivedAt - inserted < 2_000,
      `first fire ${first.receivedAt - inserted} ms after the insert`,
    );
    assert.ok(Date.parse(first.scheduledFor) >= inserted - 1_000, 'never fires retroactively');

    const updated = Date.now();
    await db.sql`update metronome.schedules set args = '[2]'::jsonb where name = 'live'`;
    const withNewArgs = await eventually('the new args', 3_000, () =>
      beat.enqueued.find((e) => e.schedule === 'live' && JSON.stringify(e.args) === '[2]'),
    );
    assert.ok(withNewArgs.receivedAt - updated < 2_000);

    await db.sql`update metronome.schedules set enabled = false where name = 'live'`;
    await sleep(1_200);
    const disabledAt = Date.now();
    await sleep(2_000);
    assert.equal(
      beat.enqueued.filter((e) => e.schedule === 'live' && e.receivedAt > disabledAt).length,
      0,
      'disabled: no fires',
    );

    await db.sql`update metronome.schedules set enabled = true where name = 'live'`;
    await eventually('fires again once enabled', 3_000, () =>
      beat.enqueued.some((e) => e.schedule === 'live' && e.receivedAt > disabledAt + 2_000),
    );
    await db.sql`delete from metronome.schedules where name = 'live'`;
    await sleep(1_200);
    const deletedAt = Date.now();
    await sleep(2_000);
    assert.equal(
      beat.enqueued.filter((e) => e.schedule === 'live' && e.receivedAt > deletedAt).length,
      0,
      'deleted: no fires',
    );
  });

  test('an edited spec starts from now, never retroactively', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('respec', 'tasks.respec', 'interval', 3600000, 'db')`;
    await sleep(1_000);
    const edited = Date.now();
    await db.sql`update metronome.schedules set every_ms = 1000 where name = 'respec'`;
    const fire = await eventually('a fire on the new spec', 3_000, () =>
      beat.enqueued.find((e) => e.schedule === 'respec'),
    );
    assert.ok(
      Date.parse(fire.scheduledFor) >= edited - 1_000,
      `first slot ${fire.scheduledFor} is not before the edit`,
    );
    await db.sql`delete from metronome.schedules where name = 'respec'`;
  });

  test('an invalid row is quarantined with a message; the others keep firing; fixing it clears it', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('steady', 'tasks.steady', 'interval', 1000, 'db')`;
    await db.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by)
                 values ('broken', 'tasks.broken', 'crontab', '0 0 * * *', 'Mars/Olympus', 'db')`;
    const reason = await eventually('the quarantine', 3_000, async () => {
      const [r] = await db.sql<
        { invalid_reason: string | null }[]
      >`select invalid_reason from metronome.schedules where name = 'broken'`;
      return r?.invalid_reason ?? undefined;
    });
    assert.match(reason, /timezone "Mars\/Olympus" is invalid/);
    const since = Date.now();
    await eventually('the others to keep firing', 3_000, () =>
      beat.enqueued.some((e) => e.schedule === 'steady' && e.receivedAt > since),
    );
    await db.sql`update metronome.schedules set timezone = 'UTC', cron = '* * * * * *' where name = 'broken'`;
    await eventually('the fixed row to fire', 4_000, () =>
      beat.enqueued.some((e) => e.schedule === 'broken'),
    );
    const [fixed] = await db.sql<
      { invalid_reason: string | null }[]
    >`select invalid_reason from metronome.schedules where name = 'broken'`;
    assert.equal(fixed?.invalid_reason, null);
    await db.sql`delete from metronome.schedules where name in ('steady', 'broken')`;
  });

  test('beat sync adds a declared schedule to the running beat', async () => {
    const dir = declarationDir();
    dir.write(
      'live.ts',
      `import { defineSchedule, every } from 'metronome';
       export default defineSchedule({ name: 'declared', task: 'tasks.declared', schedule: every('1s') });`,
    );
    const result = await beatChild(['sync', '--dir', dir.rel], { env });
    // From the sync's end: the point is how fast the running beat picks the change up, not how fast
    // a CLI process starts on a loaded machine (seconds, with tsx).
    const synced = Date.now();
    assert.equal(result.code, 0, result.stderr);
    const fire = await eventually('the declared schedule', 3_000, () =>
      beat.enqueued.find((e) => e.schedule === 'declared'),
    );
    assert.ok(fire.receivedAt - synced < 3_000, `fired ${fire.receivedAt - synced} ms after the sync`);
    dir.cleanup();
    await db.sql`delete from metronome.schedules where name = 'declared'`;
  });

  test('beat trigger: a manual run through the leader, recorded as manual', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('manual', 'tasks.manual', 'interval', 3600000, 'db')`;
    await sleep(300);
    const result = await beatChild(['trigger', 'manual', '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout);
    assert.match(out.status, /enqueued|succeeded/);
    assert.ok(beat.enqueued.some((e) => e.taskId === out.taskId));
    const [row] = await db.sql<
      { manual: boolean }[]
    >`select manual from metronome.occurrences where task_id = ${out.taskId}`;
    assert.equal(row?.manual, true);
    const unknown = await beatChild(['trigger', 'nope'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no schedule named "nope"/);
  });
  test('a clocked schedule runs once and is done; maxRuns stops a schedule after its runs', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, run_at, managed_by)
                 values ('once', 'tasks.once', 'clocked', now() + interval '1500 milliseconds', 'db')`;
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, max_runs, managed_by)
                 values ('twice', 'tasks.twice', 'interval', 1000, 2, 'db')`;
    await sleep(4_500);
    assert.equal(beat.enqueued.filter((e) => e.schedule === 'once').length, 1);
    assert.equal(beat.enqueued.filter((e) => e.schedule === 'twice').length, 2);
    const rows = await db.sql<{ name: string; next_fire_at: Date | null; total_runs: number }[]>`
      select name, next_fire_at, total_runs from metronome.schedules where name in ('once', 'twice') order by name`;
    assert.deepEqual(
      rows.map((r) => [r.name, r.next_fire_at, r.total_runs]),
      [
        ['once', null, 1],
        ['twice', null, 2],
      ],
    );
    await db.sql`delete from metronome.schedules where name in ('once', 'twice')`;
  });
});

describe('catch-up after a stopped period', () => {
  test('latest runs once, all runs each slot in the window, skip runs none; every other slot is missed', async () => {
    await beat.stop();
    // Five minutes of downtime for three schedules firing every 10 s. The grid is anchored 5 s after
    // now, so when the beat starts (1–3 s from now) the newest slot is 5 s old: late, none on time.
    const started = Date.now();
    const anchor = new Date(started + 5_000);
    for (const policy of ['latest', 'all', 'skip']) {
      await db.sql`insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, catchup, catchup_window_ms, next_fire_at)
                   values (${`catchup-${policy}`}, 'tasks.catchup', 'interval', 10000, ${anchor}, 'db', ${policy}, 120000,
                           ${new Date(anchor.getTime() - 300_000)})`;
    }
    beat = new BeatProcess('beat-2', { ...env, METRONOME_MISFIRE_GRACE: '1s' });
    const leading = await beat.waitForLog('leading', STARTUP_MS);
    assert.ok(leading.receivedAt - started < 5_000, 'the beat leads before the next slot');
    await sleep(1_500);
    const count = async (name: string) => {
      const rows = await db.sql<{ status: string; n: string }[]>`
        select status, count(*)::int as n from metronome.occurrences
        where schedule_name = ${name} and scheduled_for < ${anchor} group by status`;
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    };
    const latest = await count('catchup-latest');
    const all = await count('catchup-all');
    const skip = await count('catchup-skip');
    // 30 slots were missed: latest runs the newest; all runs the 12 inside the 2-minute window; skip none.
    assert.deepEqual(
      { run: latest.succeeded, missed: latest.missed },
      { run: 1, missed: 29 },
      JSON.stringify(latest),
    );
    assert.deepEqual(
      { run: all.succeeded, missed: all.missed },
      { run: 12, missed: 18 },
      JSON.stringify(all),
    );
    assert.deepEqual(
      { run: skip.succeeded ?? 0, missed: skip.missed },
      { run: 0, missed: 30 },
      JSON.stringify(skip),
    );
  });

  test('a paused schedule records nothing; resume applies catch-up: no burst, no gap', async () => {
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('pausable', 'tasks.pausable', 'interval', 1000, 'db')`;
    await eventually(
      'fires',
      4_000,
      () => beat.enqueued.filter((e) => e.schedule === 'pausable').length >= 2,
    );
    const pause = await beatChild(['pause', 'pausable', '--reason', 'test'], { env });
    assert.equal(pause.code, 0, pause.stderr);
    const pausedAt = Date.now();
    await sleep(4_000);
    // Slots claimed ahead of their instant (the default lookahead, 2 s) when the pause came are
    // taken back, recorded with the reason; nothing else is recorded while paused.
    const duringPause = await db.sql<{ ms: number; status: string; error: string | null }[]>`
      select (extract(epoch from scheduled_for) * 1000)::float8 as ms, status, error
      from metronome.occurrences
      where schedule_name = 'pausable' and scheduled_for > ${new Date(pausedAt + 1_000)}`;
    for (const row of duringPause) {
      assert.equal(row.status, 'missed', JSON.stringify(row));
      assert.match(row.error ?? '', /taken back: the schedule was paused/);
      assert.ok(
        Number(row.ms) <= pausedAt + 3_000,
        `taken back only within the lookahead: ${JSON.stringify(row)}`,
      );
    }
    assert.equal(
      beat.enqueued.filter((e) => e.schedule === 'pausable' && e.receivedAt > pausedAt + 1_000).length,
      0,
    );
    const resumedAt = Date.now();
    const resume = await beatChild(['resume', 'pausable'], { env });
    assert.equal(resume.code, 0, resume.stderr);
    await sleep(2_000);
    const rows = await db.sql<{ ms: number; status: string }[]>`
      select (extract(epoch from scheduled_for) * 1000)::float8 as ms, status from metronome.occurrences
      where schedule_name = 'pausable' order by scheduled_for`;
    for (let i = 1; i < rows.length; i++)
      assert.equal(Number(rows[i]?.ms) - Number(rows[i - 1]?.ms), 1000, 'no gap');
    const inPause = rows.filter((r) => Number(r.ms) > pausedAt + 1_000 && Number(r.ms) < resumedAt - 1_000);
    assert.ok(inPause.length >= 2, 'the paused stretch is in the ledger');
    assert.ok(
      inPause.filter((r) => r.status !== 'missed').length <= 1,
      'at most one run for the paused stretch',
    );
    await db.sql`delete from metronome.schedules where name = 'pausable'`;
  });
});
