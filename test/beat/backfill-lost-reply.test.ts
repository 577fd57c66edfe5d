/**
 * A backfill does not send again a slot whose earlier send may have landed (found by review). The slot's send lands but
 * its reply is lost, the broker then stays unreachable past the catch-up window, and the slot is
 * recorded `missed` ("... last attempt: reply lost"). An operator backfills the outage. The backfill
 * retakes the missed row (src/db/sql/backfills.ts:185) and dispatches it `fresh: true`
 * (src/beat/backfill-runner.ts:192), so the dispatcher never asks Transport.locate
 * (dispatcher.ts #skipAlreadySent) and sends the same occurrence a second time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cliActor } from '../../src/operate/actor.ts';
import { requestBackfill } from '../../src/operate/backfill.ts';
import type { EnqueueItem, EnqueueResult } from '../../src/transports/transport.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { leadingBeatPerFile } from '../support/in-process-beat.ts';

class Flaky extends ControlledTransport {
  mode: 'lost' | 'down' | 'up' = 'lost';
  override async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    if (this.mode === 'down') throw new Error('broker unreachable');
    const out = await super.enqueue(batch);
    if (this.mode === 'lost') {
      this.mode = 'down';
      throw new Error('reply lost (the push landed)');
    }
    return out;
  }
  async locate(items: EnqueueItem[]): Promise<Map<string, 'queued' | 'seen'>> {
    if (this.mode === 'down') throw new Error('broker unreachable');
    const sent = new Set(this.enqueued.map((e) => e.taskId));
    return new Map(items.filter((i) => sent.has(i.taskId)).map((i) => [i.taskId, 'queued' as const]));
  }
}

const transport = new Flaky();
const file = leadingBeatPerFile(transport);

test('a backfill of a slot whose send landed with a lost reply follows it rather than sending it again', async () => {
  const [n] = await file.db.sql<{ ms: number }[]>`select (extract(epoch from now()) * 1000)::float8 as ms`;
  const slot = Math.ceil((Number(n?.ms) + 3_000) / 1000) * 1000;
  await file.db.sql`insert into metronome.schedules (name, task, kind, every_ms, anchor_at, catchup_window_ms)
                    values ('flaky', 't', 'interval', 3600000, ${new Date(slot)}, 1500)`;
  await eventually('the slot recorded missed', 20_000, async () => {
    const [r] = await file.db.sql<
      { status: string }[]
    >`select status from metronome.occurrences where schedule_name = 'flaky'`;
    return r?.status === 'missed';
  });
  const [row] = await file.db.sql<
    { error: string }[]
  >`select error from metronome.occurrences where schedule_name = 'flaky'`;
  assert.match(row?.error ?? '', /last attempt/, 'recorded missed after a send attempt');
  transport.mode = 'up';
  await requestBackfill(file.running.database, { name: 'flaky', from: slot - 1000, to: slot }, cliActor());
  await eventually('the backfill done', 15_000, async () => {
    const [b] = await file.db.sql<
      { status: string }[]
    >`select status from metronome.backfills where schedule_name = 'flaky'`;
    return b?.status === 'done';
  });
  await eventually('the slot recorded sent', 10_000, async () => {
    const [r] = await file.db.sql<
      { status: string }[]
    >`select status from metronome.occurrences where schedule_name = 'flaky'`;
    return r?.status === 'enqueued' || r?.status === 'running';
  });
  assert.deepEqual(transport.duplicates(), [], 'one occurrence enqueued twice');
});
