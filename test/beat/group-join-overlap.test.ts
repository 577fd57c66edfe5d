/**
 * A schedule that joins an exclusion group while its run is in flight (found by review). The run in flight
 * holds the lock `schedule:<id>` and is tracked under that scope; the next slot asks for
 * `group:<g>`, finds it free and is sent while the first run is still active: the schedule overlaps
 * itself (guarantee 3), and a group-mate could likewise start beside it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

const transport = new ControlledTransport();
const file = leadingBeatPerFile(transport);

test('a schedule that joins an exclusion group mid-run does not start its next slot beside the running one', async () => {
  await file.db.sql`insert into metronome.schedules (name, task, kind, every_ms, overlap)
                    values ('long.job', 't', 'interval', 1000, 'skip')`;
  await eventually('first run sent', 10_000, () => transport.of('long.job').length >= 1);
  // It stays active (never finished). Two more slots pass: skipped_overlap, as they should be.
  await eventually('two slots skipped while its run is active (before the edit)', 10_000, async () => {
    const [r] = await file.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences where schedule_name = 'long.job' and status = 'skipped_overlap'`;
    return (r?.n ?? 0) >= 2;
  });
  assert.equal(transport.of('long.job').length, 1);
  await file.db.sql`update metronome.schedules set exclusion_group = 'nightly' where name = 'long.job'`;
  // Three slots after the edit are handled (skipped, as the run still holds the schedule).
  const [edited] = await file.db.sql<
    { ms: number }[]
  >`select (extract(epoch from now()) * 1000)::float8 as ms`;
  await eventually('three slots after the edit handled', 15_000, async () => {
    const [r] = await file.db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.occurrences where schedule_name = 'long.job'
        and status <> 'claimed' and scheduled_for > to_timestamp(${Number(edited?.ms) / 1000})`;
    return (r?.n ?? 0) >= 3;
  });
  const sent = transport.of('long.job').map((e) => e.taskId);
  assert.equal(
    sent.length,
    1,
    `the first run is still active, yet ${sent.length - 1} more were sent after the group edit`,
  );
});
