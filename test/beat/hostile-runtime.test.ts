/**
 * A running beat against rows that once stopped it: an infinite start_at present at start (the
 * election looped, nothing fired, /readyz said ready), an infinite next_fire_at inserted while it
 * runs (every tick failed). The healthy schedules keep firing and the bad rows are quarantined.
 * Also: one "epoch" per log line however often it is re-elected, and /readyz names the cause of a
 * database failure, never the SQL that failed.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { createUncheckedDatabase, insertLiteralRows, intervalRow } from '../support/hostile.ts';
import { startInProcessBeat } from '../support/in-process-beat.ts';
import type { TestDatabase } from '../support/pg.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';

let db: TestDatabase;

before(async () => {
  db = await createUncheckedDatabase();
});
after(async () => {
  await db?.drop();
});

const reasonOf = async (name: string) =>
  (
    await db.sql<{ invalid_reason: string | null }[]>`
      select invalid_reason from metronome.schedules where name = ${name}`
  )[0]?.invalid_reason ?? undefined;

test('bad rows present at start and inserted while running: healthy schedules keep firing', async () => {
  await db.sql`truncate metronome.schedules, metronome.occurrences, metronome.leader`;
  await insertLiteralRows(db.sql, [
    intervalRow('steady', { every_ms: 1000, overlap: 'allow' }),
    intervalRow('start.-infinity', { start_at: '-infinity' }),
    intervalRow('next.-infinity.at.start', { next_fire_at: '-infinity' }),
    intervalRow('anchor.infinity', { anchor_at: 'infinity' }),
  ]);
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport);
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    await eventually('steady fires', 5_000, () => transport.of('steady').length >= 2);
    const [lease] = await db.sql<{ epoch: string }[]>`select epoch from metronome.leader`;
    assert.equal(Number(lease?.epoch), 1, 'elected once: no election loop');
    assert.match((await reasonOf('start.-infinity')) ?? '', /^column start_at:/);
    assert.match((await reasonOf('next.-infinity.at.start')) ?? '', /^column next_fire_at:/);
    assert.match((await reasonOf('anchor.infinity')) ?? '', /^column anchor_at:/);
    assert.deepEqual(running.beat.readiness(), { ready: true, role: 'leader', reasons: [] });

    await insertLiteralRows(db.sql, [
      intervalRow('next.-infinity', { next_fire_at: '-infinity' }),
      intervalRow('next.infinity', { next_fire_at: 'infinity' }),
      intervalRow('last.infinity', { last_fire_at: 'infinity' }),
      intervalRow('total.negative', { total_runs: -1 }),
    ]);
    const since = Date.now();
    await eventually('steady keeps firing', 5_000, () =>
      transport.of('steady').some((e) => e.at > since + 1_500),
    );
    for (const [name, column] of [
      ['next.-infinity', 'next_fire_at'],
      ['next.infinity', 'next_fire_at'],
      ['last.infinity', 'last_fire_at'],
      ['total.negative', 'total_runs'],
    ]) {
      const reason = await eventually(`${name} quarantined`, 5_000, () => reasonOf(name as string));
      assert.match(reason, new RegExp(`^column ${column}:`), name);
    }
    assert.equal(running.beat.readiness().ready, true, JSON.stringify(running.beat.readiness()));
    const [after] = await db.sql<{ epoch: string }[]>`select epoch from metronome.leader`;
    assert.equal(Number(after?.epoch), 1, 'still the first election');
  } finally {
    await running.stop();
  }
});

test('re-elected twice: every log line carries the epoch once', async () => {
  await db.sql`truncate metronome.schedules, metronome.occurrences, metronome.leader`;
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const transport = new ControlledTransport();
  const running = await startInProcessBeat(db.url, transport, {
    log: createLogger({ level: 'info', destination }),
  });
  try {
    for (let epoch = 1; epoch <= 3; epoch++) {
      await eventually(`epoch ${epoch}`, 10_000, () =>
        lines.some((l) => l.includes('"msg":"schedules loaded"') && l.includes(`"epoch":${epoch}`)),
      );
      // Take the lease away: the renewal fails, the beat steps down and is elected again.
      if (epoch < 3) await db.sql`update metronome.leader set expires_at = now() - interval '1 second'`;
    }
    const repeated = lines.filter((l) => (l.match(/"epoch":/g) ?? []).length > 1);
    assert.deepEqual(repeated, [], 'no line carries "epoch" twice');
  } finally {
    await running.stop();
  }
});

test('/readyz names the cause of a database failure, never the SQL', async () => {
  await db.sql`truncate metronome.schedules, metronome.occurrences, metronome.leader`;
  const target = new URL(db.url);
  const proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(db.url);
  viaProxy.port = String(proxy.port);
  const running = await startInProcessBeat(viaProxy.toString(), new ControlledTransport());
  try {
    await eventually('leadership', 5_000, () => running.beat.leading);
    await proxy.down();
    const notReady = await eventually('not ready', 10_000, () => {
      const r = running.beat.readiness();
      return r.ready ? undefined : r;
    });
    await sleep(500);
    const reasons = running.beat.readiness().reasons.concat(notReady.reasons).join('\n');
    assert.doesNotMatch(reasons, /select|update|insert|Failed query|params/i, reasons);
    assert.match(
      reasons,
      /ECONNREFUSED|ECONNRESET|CONNECTION_CLOSED|CONNECT_TIMEOUT|timeout|closed/i,
      reasons,
    );
  } finally {
    await proxy.up();
    await running.stop().catch(() => {});
    await proxy.down();
  }
});
