/**
 * Deadlines judged from BullMQ's job state (issue 20): a `beat run` publishing to a real BullMQ
 * Worker (the example in examples/bullmq-worker.ts), no webhook. A job that runs past its finish
 * deadline is alerted while it runs (seen `active`, so its start is recorded) and ends
 * `not_finished`; a quick one is on time; a failing one `failed`, with the worker's error. Without a
 * webhook the alerts are recorded (`delivery = 'none'`), not sent.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { metronomeWorker } from '../../examples/bullmq-worker.ts';
import { beatEnv } from '../support/beat-env.ts';
import { BeatProcess, eventually, STARTUP_MS, sleep } from '../support/beat-process.ts';
import { bullmqPrefixPerFile } from '../support/bullmq.ts';
import { beat as beatCli } from '../support/cli.ts';
import { createMigratedDatabase } from '../support/migrated.ts';
import type { TestDatabase } from '../support/pg.ts';
import { REDIS_URL } from '../support/redis.ts';

let db: TestDatabase;
let beat: BeatProcess | undefined;
const { prefix, connection, closeAfter } = bullmqPrefixPerFile('bullmq-deadlines', async () => beat?.stop());

before(async () => {
  db = await createMigratedDatabase();
});
after(async () => {
  await db?.drop();
});

test('BullMQ: a job past its finish deadline, an on-time one and a failing one', async () => {
  closeAfter(
    metronomeWorker(
      'metronome',
      {
        'tasks.slow': async () => sleep(4_000),
        'tasks.quick': async () => 'ok',
        'tasks.boom': async () => {
          throw new Error('boom: the report source is down');
        },
      },
      { connection: connection(REDIS_URL), prefix, concurrency: 8, onError: () => {} },
    ),
  );
  await db.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, start_deadline_ms, finish_deadline_ms)
               values ('slow', 'tasks.slow', 'interval', 10000, 'db', null, 2000),
                      ('quick', 'tasks.quick', 'interval', 2000, 'db', 2000, 3000),
                      ('boom', 'tasks.boom', 'interval', 10000, 'db', null, 60000)`;
  beat = new BeatProcess('beat', {
    ...beatEnv(db.url, {
      METRONOME_TRANSPORT: 'bullmq',
      REDIS_URL,
      METRONOME_BULLMQ_URL: '',
      METRONOME_BULLMQ_PREFIX: prefix,
      METRONOME_LOCK_PREFIX: `${prefix}:runlock:`,
      METRONOME_TRACK_INTERVAL: '200ms',
      METRONOME_DEADLINE_INTERVAL: '250ms',
    }),
  });
  await beat.waitForLog('leading', STARTUP_MS);

  const alert = async (schedule: string, kind: string) => {
    const [row] = await db.sql<{ reason: string; delivery: string }[]>`
      select reason, delivery from metronome.alerts where schedule_name = ${schedule} and kind = ${kind}`;
    return row;
  };
  const breach = await eventually('the not_finished alert of slow', 30_000, () =>
    alert('slow', 'not_finished'),
  );
  assert.match(breach.reason, /not finished 2s after its slot .*still running/);
  assert.equal(breach.delivery, 'none', 'no webhook: recorded, not sent');
  const failed = await eventually('the failed alert of boom', 30_000, () => alert('boom', 'failed'));
  assert.match(failed.reason, /boom: the report source is down/);
  await eventually('slow decided not_finished, with the start it was seen', 30_000, async () => {
    const [row] = await db.sql<{ started_at: Date | null; deadline_outcome: string | null }[]>`
      select started_at, deadline_outcome from metronome.occurrences
      where schedule_name = 'slow' and deadline_outcome is not null order by scheduled_for limit 1`;
    return row?.deadline_outcome === 'not_finished' && row.started_at !== null ? row : undefined;
  });
  await eventually('two on-time runs of quick', 30_000, async () => {
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from metronome.occurrences
      where schedule_name = 'quick' and deadline_outcome = 'on_time'`;
    return (row?.n ?? 0) >= 2;
  });
  assert.equal(await alert('quick', 'started_late'), undefined);
  // `beat history` says how each run kept its deadlines, and why not.
  const history = await beatCli(['history', 'slow'], { DATABASE_URL: db.url });
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /DEADLINES/);
  assert.match(history.stdout, /not_finished .*finished \d+s after its slot, past its finish deadline of 2s/);
  const json = await beatCli(['history', 'quick', '--json'], { DATABASE_URL: db.url });
  const judged = (JSON.parse(json.stdout) as Array<{ deadlineOutcome: string | null }>).filter(
    (o) => o.deadlineOutcome,
  );
  assert.ok(judged.every((o) => o.deadlineOutcome === 'on_time'));
});
