/**
 * 10,000 garbage rows inserted at once while a healthy 1 s schedule runs. Quarantining them once
 * took ~38 s of one-row-at-a-time work before the next tick, and the healthy schedule missed its
 * slots. Now the burst is validated in batches between ticks: every slot of the healthy schedule
 * is enqueued on time (none missed, each within the misfire grace) while the burst is quarantined.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const BURST = 10_000;
const GRACE_MS = 1_000;

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('a burst of 10,000 garbage rows does not delay a healthy 1 s schedule', async (t) => {
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport, { graceMs: GRACE_MS });
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    await db.sql`insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
                 values ('pulse', 'tasks.pulse', 'interval', 1000, 'allow', 'db'),
                        ('pulse2', 'tasks.pulse', 'interval', 2000, 'allow', 'db')`;
    await eventually('pulse fires', 5_000, () => transport.of('pulse').length >= 2);

    // Garbage the CHECK constraints cannot see: unknown zones, crontabs that never fire or do not
    // parse, jitter as long as the period. One statement, so 10,000 notifications arrive at once.
    const burstAt = Date.now();
    await db.sql`
      insert into metronome.schedules (name, task, kind, cron, timezone, every_ms, jitter_ms, managed_by)
      select 'garbage.' || i, 'tasks.garbage',
             case when i % 4 = 3 then 'interval' else 'crontab' end,
             case i % 4 when 0 then '0 3 * * *' when 1 then '0 0 30 2 *' when 2 then 'every tuesday' end,
             case i % 4 when 0 then 'Mars/Olympus_' || i when 3 then null else 'UTC' end,
             case when i % 4 = 3 then 60000 end,
             case when i % 4 = 3 then 60000 else 0 end,
             'db'
      from generate_series(1, ${BURST}) as i`;
    await eventually('the burst to be quarantined', 120_000, async () => {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from metronome.schedules where name like 'garbage.%' and invalid_reason is not null`;
      return row?.n === BURST;
    });
    const quarantinedAt = Date.now();
    await sleep(2_000);

    const slots = await db.sql<{ name: string; ms: number; status: string }[]>`
      select schedule_name as name, (extract(epoch from scheduled_for) * 1000)::float8 as ms, status
      from metronome.occurrences
      where schedule_name in ('pulse', 'pulse2')
        and scheduled_for >= ${new Date(burstAt)} and scheduled_for <= ${new Date(quarantinedAt + 1_000)}
      order by scheduled_for`;
    const pulse = slots.filter((s) => s.name === 'pulse');
    assert.ok(pulse.length >= Math.floor((quarantinedAt - burstAt) / 1_000), `${pulse.length} slots`);
    for (let i = 1; i < pulse.length; i++)
      assert.equal(Number(pulse[i]?.ms) - Number(pulse[i - 1]?.ms), 1_000, 'no gap in the ledger');
    assert.deepEqual(
      slots.filter((s) => s.status === 'missed'),
      [],
      'no slot missed during the burst',
    );
    const lags = transport.enqueued
      .filter((e) => e.scheduledFor >= burstAt && e.scheduledFor <= quarantinedAt + 1_000)
      .map((e) => e.at - e.fireAt);
    const worst = Math.max(...lags);
    t.diagnostic(
      `quarantined ${BURST} rows in ${quarantinedAt - burstAt} ms; ${lags.length} fires meanwhile, worst lag ${worst} ms`,
    );
    assert.ok(worst < GRACE_MS, `every fire within the grace; worst lag ${worst} ms`);
    assert.equal(running.beat.readiness().ready, true);
  } finally {
    await running.stop();
  }
});
