/**
 * The chaos test's checks are an instrument: these tests show each one flags what it must and lets
 * pass what its rules exclude, on small hand-made histories (the checks are pure; the chaos run
 * itself is `npm run chaos`, not part of `npm test`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { ScheduleRecord } from '../../src/model/index.ts';
import { type Evidence, loadEvidence, saveEvidence } from './analyze.ts';
import { checkBackfills } from './backfills.ts';
import type { ClusterEvent } from './cluster.ts';
import type { BeatLog, LedgerRow } from './evidence.ts';
import { leadership } from './leadership.ts';
import {
  CLAIM_AHEAD_MS,
  EDIT_KINDS,
  type EditStep,
  EXCLUSION_GROUPS,
  editPlan,
  FAULT_KINDS,
  faultPlan,
  LOCK_RESTART_SPACING_MS,
  workload,
} from './plan.ts';
import { Random } from './random.ts';
import type { Execution } from './records.ts';
import { executions, parseRecords } from './records.ts';
import {
  checkDuplicates,
  checkGroupOverlaps,
  checkOverlaps,
  checkStranded,
  type RunContext,
} from './runs.ts';
import { checkSkips } from './skips.ts';
import { checkSlots, LEADER_CHANCE_MS } from './slots.ts';
import type { BackfillRequest, ScheduleHistory } from './world.ts';

const T = Date.parse('2030-01-01T00:00:00Z');
const s = (n: number) => T + n * 1000;

function record(over: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    id: 1,
    name: 'a',
    task: 'chaos.work',
    kind: 'interval',
    cron: null,
    cronFields: null,
    timezone: null,
    dstPolicy: null,
    everyMs: 1000,
    anchorAt: null,
    solarEvent: null,
    latitude: null,
    longitude: null,
    runAt: null,
    args: [],
    kwargs: {},
    queue: null,
    routingKey: null,
    priority: null,
    headers: {},
    expiresMs: null,
    timeLimitS: null,
    softTimeLimitS: null,
    enabled: true,
    startAt: null,
    endAt: null,
    maxRuns: null,
    totalRuns: 0,
    overlap: 'skip',
    catchup: 'latest',
    catchupWindowMs: 3_600_000,
    jitterMs: 0,
    runLeaseMs: null,
    startDeadlineMs: null,
    finishDeadlineMs: null,
    exclusionGroup: null,
    description: null,
    calendars: [],
    onExcluded: 'skip',
    calendarRevision: 0,
    managedBy: 'db',
    source: null,
    pausedAt: null,
    pausedReason: null,
    pausedUntil: null,
    skipCount: 0,
    skipReason: null,
    invalidReason: null,
    nextFireAt: new Date(s(0)),
    lastFireAt: null,
    version: 1,
    createdAt: new Date(s(-1)),
    updatedAt: new Date(s(-1)),
    ...over,
  };
}

function row(slot: number, over: Partial<LedgerRow> = {}): LedgerRow {
  return {
    scheduleId: 1,
    schedule: 'a',
    scheduledFor: slot,
    taskId: `t${slot}`,
    status: 'succeeded',
    error: null,
    manual: false,
    epoch: 1,
    claimedAt: slot + 5,
    enqueuedAt: slot + 10,
    finishedAt: slot + 50,
    ...over,
  };
}

const always = (from: number, to: number) => Math.max(0, to - from);
const never = () => 0;

function history(changes: ScheduleHistory['changes']): ScheduleHistory {
  return { id: 1, name: 'a', role: 'short', changes };
}

describe('slots (invariant 2)', () => {
  const inserted = history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }]);

  test('every slot from the first to the cut has a row: no gap', () => {
    const rows = [0, 1, 2, 3, 4, 5].map((n) => row(s(n)));
    const r = checkSlots([inserted], rows, always, s(5), new Map());
    assert.equal(r.owed, 6);
    assert.deepEqual(r.gaps, []);
  });

  test('a slot without a row is a gap, however it ended', () => {
    const rows = [0, 1, 3, 4, 5].map((n) => row(s(n)));
    const r = checkSlots([inserted], rows, always, s(5), new Map());
    assert.deepEqual(
      r.gaps.map((g) => g.slot),
      [s(2)],
    );
  });

  test('a missed row must say why; a row off the grid is reported', () => {
    const rows = [row(s(0), { status: 'missed' }), row(s(1)), row(s(1) + 500)];
    const r = checkSlots([inserted], rows, always, s(1), new Map());
    assert.equal(r.withoutReason.length, 1);
    assert.deepEqual(
      r.offGrid.map((x) => x.scheduledFor),
      [s(1) + 500],
    );
  });

  test('a timing edit may win only against slots no leader had the time to claim', () => {
    const edited = history([
      { at: s(-1), kind: 'insert', style: 'cursor', record: record() },
      {
        at: s(10),
        kind: 'timing',
        style: 'cursor',
        record: record({ everyMs: 2000, nextFireAt: new Date(s(12)) }),
      },
    ]);
    const rows = [0, 1, 2, 3, 4, 5, 12, 14].map((n) => row(s(n)));
    // A leader throughout: slots 6 and 7 of the old timing were claimable for 3 s and have no
    // row; 8 and 9 came due less than LEADER_CHANCE_MS before the edit, which may win over them.
    const led = checkSlots([edited], rows, always, s(14), new Map());
    assert.deepEqual(
      led.gaps.map((g) => (g.slot - T) / 1000),
      [6, 7],
    );
    // No leader from 5.5 s on (a failover the edit landed in): those slots are not owed.
    const noLeader = (from: number, to: number) => Math.max(0, Math.min(to, s(5.5)) - from);
    const failover = checkSlots([edited], rows, noLeader, s(14), new Map());
    assert.deepEqual(failover.gaps, []);
    assert.ok(failover.excused >= 4);
    assert.equal(LEADER_CHANCE_MS, 3_000);
  });

  test('an edit left to the runtime owes the new slots once a leader could have read it', () => {
    const edited = history([
      { at: s(-1), kind: 'insert', style: 'cursor', record: record() },
      { at: s(3.5), kind: 'timing', style: 'sql', record: record({ everyMs: 2000, nextFireAt: null }) },
    ]);
    const rows = [0, 1, 2, 3, 10].map((n) => row(s(n)));
    const r = checkSlots([edited], rows, always, s(10), new Map());
    // 4 and 6 came before a leader had led 3 s since the edit; 8 is owed and missing; 10 is there.
    assert.deepEqual(
      r.gaps.map((g) => (g.slot - T) / 1000),
      [8],
    );
  });

  test('a schedule still behind the cut is late, not gapped', () => {
    const rows = [0, 1, 2].map((n) => row(s(n)));
    const r = checkSlots([inserted], rows, always, s(9), new Map([[1, s(3)]]));
    assert.deepEqual(r.gaps, []);
    assert.deepEqual(
      r.late.map((l) => l.schedule),
      ['a'],
    );
  });

  test('a catch-up row "for all" covers its stretch', () => {
    const error = `missed: every slot from ${new Date(s(1)).toISOString()} to ${new Date(s(4)).toISOString()} (one row for all) (catch-up latest, window 3600000 ms)`;
    const rows = [row(s(0)), row(s(1), { status: 'missed', error }), row(s(4)), row(s(5))];
    const r = checkSlots([inserted], rows, always, s(5), new Map());
    assert.deepEqual(r.gaps, []);
  });

  test('no leader at all: nothing is excused for a schedule nobody edited', () => {
    const r = checkSlots([inserted], [], never, s(2), new Map());
    assert.equal(r.gaps.length, 3);
  });
});

function run(taskId: string, start: number, end: number | null, over: Partial<Execution> = {}): Execution {
  return { taskId, schedule: 'a', start, end, how: end === null ? null : 'ok', pid: 10, ppid: 1, ...over };
}

function context(ledger: LedgerRow[] = [], kills = new Map<number, number>()): RunContext {
  return {
    histories: new Map([['a', history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }])]]),
    ledgerByTask: new Map(ledger.map((r) => [r.taskId, r])),
    workerKills: kills,
    readAt: s(100),
    queued: new Set(['still-queued']),
  };
}

describe('overlaps (invariant 3)', () => {
  test('a run starting before the previous one ended overlaps it', () => {
    const r = checkOverlaps([run('x', s(0), s(1.5)), run('y', s(1), s(2))], context());
    assert.equal(r.overlaps.length, 1);
    assert.equal(r.overlaps[0]?.ms, 500);
  });

  test('back-to-back runs do not overlap; schedules that allow overlap are not checked', () => {
    assert.equal(checkOverlaps([run('x', s(0), s(1)), run('y', s(1), s(2))], context()).overlaps.length, 0);
    const allow = context();
    allow.histories.set(
      'a',
      history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record({ overlap: 'allow' }) }]),
    );
    assert.equal(checkOverlaps([run('x', s(0), s(3)), run('y', s(1), s(2))], allow).checkedRuns, 0);
  });

  test('a run whose worker was killed ends at the kill', () => {
    const runs = [run('x', s(0), null, { ppid: 7 }), run('y', s(2), s(3))];
    assert.equal(checkOverlaps(runs, context([], new Map([[7, s(1)]]))).overlaps.length, 0);
    assert.equal(checkOverlaps(runs, context([], new Map([[7, s(2.5)]]))).overlaps.length, 1);
  });

  test('an earlier run that started after its run lease ended is counted apart (by design)', () => {
    // Enqueued at 0 with a 1 s lease (every 1 s), started at 1.2 s: the lock had lapsed in the queue.
    const ledger = [row(s(0), { taskId: 'x', enqueuedAt: s(0), claimedAt: s(0) })];
    const r = checkOverlaps([run('x', s(1.2), s(3)), run('y', s(2), s(2.5))], context(ledger));
    assert.equal(r.overlaps.length, 0);
    assert.equal(r.lapsed.length, 1);
  });
});

describe('duplicates (invariant 1)', () => {
  const log = (msg: string, taskId: string, error?: string): BeatLog => ({
    t: s(0),
    beat: 'beat-0.1',
    msg,
    level: 30,
    taskId,
    error,
    line: '{}',
  });

  test('a task id executed twice is a violation unless an attempt may have landed', () => {
    const runs = [run('x', s(0), s(1)), run('x', s(2), s(3)), run('y', s(0), s(1)), run('y', s(2), s(3))];
    const logs = [
      log(
        'enqueue attempt failed; will retry',
        'x',
        'the Celery broker redis://h/0 is unreachable (status reconnecting)',
      ),
      log('enqueue attempt failed; will retry', 'y', 'Connection is closed.'),
      log('enqueued', 'y'),
      log('enqueued', 'z'),
      log('enqueued', 'z'),
    ];
    const d = checkDuplicates(runs, logs);
    assert.deepEqual(
      d.executedTwice.map((x) => x.taskId),
      ['x'],
    );
    assert.deepEqual(
      d.atLeastOnce.map((x) => x.taskId),
      ['y'],
    );
    assert.deepEqual(
      d.enqueuedTwice.map((x) => x.taskId),
      ['z'],
    );
  });

  test('a send by a beat killed right after, re-sent by the next leader, is the documented case', () => {
    const at = (t: number, beat: string): BeatLog => ({ ...log('enqueued', 'k'), t, beat });
    const runs = [run('k', s(0), s(1)), run('k', s(3), s(4))];
    const killedAfter = (beat: string, t: number) => beat === 'beat-0.1' && t === s(0);
    const documented = checkDuplicates(runs, [at(s(0), 'beat-0.1'), at(s(3), 'beat-1.1')], killedAfter);
    assert.equal(documented.atLeastOnce.length, 1);
    assert.equal(documented.enqueuedTwice.length, 0);
    // Two sends by one live beat: a violation.
    const twice = checkDuplicates(runs, [at(s(0), 'beat-1.1'), at(s(3), 'beat-1.1')], killedAfter);
    assert.equal(twice.executedTwice.length, 1);
    assert.equal(twice.enqueuedTwice.length, 1);
  });

  test('records pair each start with its own end', () => {
    const lines = parseRecords(
      [
        '{"e":"start","t":1,"id":"x","pid":1,"ppid":9}',
        '{"e":"start","t":2,"id":"x","pid":2,"ppid":9}',
        '{"e":"end","t":3,"id":"x","how":"ok"}',
        '{"e":"sta', // cut by a kill -9
      ].join('\n'),
    );
    const xs = executions(lines);
    assert.equal(xs.length, 2);
    assert.equal(xs[0]?.end, 3000);
    assert.equal(xs[1]?.end, null);
  });
});

describe('stranded occurrences (invariant 5)', () => {
  test('claimed for over a minute, and enqueued for good after the lease, are stranded', () => {
    const ledger = [
      row(s(0), { taskId: 'old-claim', status: 'claimed', claimedAt: s(30) }),
      row(s(50), { taskId: 'fresh-claim', status: 'claimed', claimedAt: s(50) }),
      row(s(1), { taskId: 'done-untold', status: 'enqueued', enqueuedAt: s(1) }),
      row(s(2), { taskId: 'lost', status: 'enqueued', enqueuedAt: s(2) }),
      row(s(2), { taskId: 'still-queued', status: 'enqueued', enqueuedAt: s(2) }),
      row(s(95), { taskId: 'in-flight', status: 'enqueued', enqueuedAt: s(95) }),
      row(s(3), { taskId: 'ok', status: 'succeeded' }),
    ];
    const runs = [run('done-untold', s(1.1), s(1.2))];
    const found = checkStranded(ledger, runs, context(ledger), new Map());
    assert.deepEqual(
      found.map((x) => [x.row.taskId, x.kind]),
      [
        ['old-claim', 'claimed > 1 min'],
        ['done-untold', 'finished, ledger not told'],
        ['lost', 'never ran, no end'],
      ],
    );
  });

  test('a run whose worker died is stranded only once the leader has stopped following it', () => {
    const ledger = [
      row(s(2), { taskId: 'died-lately', status: 'running', enqueuedAt: s(2) }),
      row(s(-400), { taskId: 'died-long-ago', status: 'running', enqueuedAt: s(-400) }),
    ];
    const runs = [run('died-lately', s(2.1), null), run('died-long-ago', s(-399.9), null)];
    const found = checkStranded(ledger, runs, context(ledger), new Map());
    assert.deepEqual(
      found.map((x) => [x.row.taskId, x.kind]),
      [['died-long-ago', 'worker died, no end']],
    );
  });
});

describe('leadership (invariant 4)', () => {
  const lead = (t: number, beat: string, msg: string): BeatLog => ({ t, beat, msg, level: 30, line: '{}' });

  test('a frozen leader stops leading when frozen; the gap lasts until the next one leads', () => {
    const logs = [
      lead(s(0), 'beat-0.1', 'leading'),
      lead(s(6), 'beat-0.1', 'stepped down'), // woken from SIGSTOP
      lead(s(3.5), 'beat-1.1', 'leading'),
    ];
    const events: ClusterEvent[] = [{ t: s(1), kind: 'beat-stop', detail: 'SIGSTOP', pid: 100 }];
    const l = leadership(logs, events, (e) => (e.pid === 100 ? 'beat-0.1' : undefined), {
      from: s(0),
      to: s(10),
    });
    assert.equal(l.longestGap?.from, s(1));
    assert.equal(l.longestGap?.to, s(3.5));
    assert.equal(l.leaderTime(s(0), s(10)), 7_500);
  });
});

describe('the plan', () => {
  test('one seed, one plan; 20 minutes inject every fault kind at least 5 times', () => {
    const a = faultPlan(new Random(7), 20 * 60_000, 2_000);
    assert.deepEqual(a, faultPlan(new Random(7), 20 * 60_000, 2_000));
    for (const kind of FAULT_KINDS)
      assert.ok(a.filter((f) => f.kind === kind).length >= 5, `${kind} at least 5 times`);
    const lockRestarts = a.filter((f) => f.target.startsWith('lock-')).map((f) => f.atMs);
    for (let i = 1; i < lockRestarts.length; i++)
      assert.ok((lockRestarts[i] as number) - (lockRestarts[i - 1] as number) >= LOCK_RESTART_SPACING_MS);
    assert.ok(a.every((f, i) => i === 0 || f.atMs >= (a[i - 1] as { atMs: number }).atMs));
  });

  test('edits: every kind at least 5 times, even in 2 minutes; workloads are reproducible', () => {
    const edits = editPlan(new Random(1), 2 * 60_000);
    for (const kind of EDIT_KINDS) assert.ok(edits.filter((e) => e.kind === kind).length >= 5, kind);
    const skips = edits.filter((e) => e.kind === 'skip');
    assert.ok(skips.every((e) => e.skip && e.skip.count >= 1 && e.skip.count <= 3 && e.skip.reason !== ''));
    // Some skips land inside the lookahead before a whole second, when its slots are claimed ahead.
    assert.ok(skips.some((e) => e.atMs % 1000 > 1000 - CLAIM_AHEAD_MS && e.atMs % 1000 !== 0));
    for (const e of edits.filter((e) => e.kind === 'backfill')) {
      assert.ok(e.backfill && e.backfill.slots >= 2 && e.backfill.slots <= 8);
      assert.ok(e.backfill.rate >= 2 && e.backfill.rate <= 5);
    }
    assert.ok(edits.every((e, i) => i === 0 || e.atMs >= (edits[i - 1] as EditStep).atMs));
    // With the faults: a backfill just before each kill or freeze of the leader, under way then.
    const faults = faultPlan(new Random(1), 2 * 60_000, 2_000);
    const withFaults = editPlan(new Random(1), 2 * 60_000, faults);
    for (const f of faults.filter((f) => f.kind === 'kill-leader' || f.kind === 'stop-leader'))
      assert.ok(
        withFaults.some((e) => e.kind === 'backfill' && e.atMs < f.atMs && f.atMs - e.atMs <= 1_500),
        `a backfill before the ${f.kind} at ${f.atMs}`,
      );
    assert.deepEqual(workload(new Random(3), 100), workload(new Random(3), 100));
    assert.equal(workload(new Random(3), 100).length, 100);
  });

  test('each exclusion group joins schedules of both exclusive policies whose runs outlast their interval', () => {
    const grouped = workload(new Random(3), 100).filter((w) => w.exclusionGroup !== null);
    for (const group of EXCLUSION_GROUPS) {
      const members = grouped.filter((w) => w.exclusionGroup === group);
      assert.deepEqual(new Set(members.map((m) => m.overlap)), new Set(['skip', 'buffer_one']), group);
      assert.ok(members.every((m) => m.role === 'special'));
      // The group's runs need more than its time: its one lock is contended across schedules.
      const demand = members.reduce((sum, m) => sum + (m.sleepS * 1000) / (m.everyMs as number), 0);
      assert.ok(demand > 1, `${group} demand ${demand}`);
    }
  });
});

describe('evidence', () => {
  test('saved and loaded again, with the dates of records as dates', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'chaos-evidence-'));
    try {
      const evidence: Evidence = {
        seed: 1,
        minutes: 1,
        ttlMs: 2000,
        start: s(0),
        cut: s(60),
        readAt: s(90),
        ledger: [row(s(0))],
        cursors: [[1, s(61)]],
        histories: [history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }])],
        triggers: [],
        failedEdits: [],
        events: [],
        sampled: [],
        outcomes: [],
        editCounts: [],
        logFiles: [],
      };
      saveEvidence(dir, evidence);
      const back = loadEvidence(dir);
      assert.deepEqual(back, evidence);
      assert.ok(back.histories[0]?.changes[0]?.record?.nextFireAt instanceof Date);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('operator skips (invariant 2d)', () => {
  const skipped = (n: number, reason = 'maintenance') =>
    row(s(n), { status: 'skipped', error: `skipped: ${reason}`, enqueuedAt: null });
  const skipChange = (at: number, count: number, previousCount = 0, reason = 'maintenance') => ({
    at,
    kind: 'skip' as const,
    record: record({ skipCount: count, skipReason: reason }),
    skip: { count, reason, previousCount },
  });
  const withSkips = (...skips: ReturnType<typeof skipChange>[]) =>
    history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }, ...skips]);

  test('a skipped slot with its reason is owed and accounted, not a gap', () => {
    const h = withSkips(skipChange(s(1.5), 2));
    const rows = [row(s(0)), row(s(1)), skipped(2), skipped(3), row(s(4))];
    const slots = checkSlots([h], rows, always, s(4), new Map());
    assert.equal(slots.owed, 5);
    assert.deepEqual(slots.gaps, []);
    assert.deepEqual(slots.withoutReason, []);
    const r = checkSkips([h], rows, [], new Map([[1, 0]]));
    assert.equal(r.skippedRows, 2);
    assert.deepEqual([r.executed, r.tooMany, r.badReason, r.fewer], [[], [], [], []]);
  });

  test('a skipped row without a reason is reported by 2b, and one with another reason by 2d', () => {
    const h = withSkips(skipChange(s(0.5), 2));
    const bare = row(s(1), { status: 'skipped', error: null });
    assert.equal(checkSlots([h], [row(s(0)), bare], always, s(1), new Map()).withoutReason.length, 1);
    const r = checkSkips([h], [bare, skipped(2, 'another')], [], new Map([[1, 0]]));
    assert.equal(r.badReason.length, 2);
  });

  test('a slot recorded skipped that a worker executed fails', () => {
    const h = withSkips(skipChange(s(0.5), 1));
    const r = checkSkips([h], [skipped(1)], [run(`t${s(1)}`, s(1), s(1.1))], new Map([[1, 0]]));
    assert.equal(r.executed.length, 1);
  });

  test('more slots skipped than the skips consumed fails, across replacements and failovers', () => {
    // skip 2 at 0.5 s; 1 consumed, then a new skip of 1 replaced the 1 left; 0 left at the end: 2.
    const h = withSkips(skipChange(s(0.5), 2), skipChange(s(1.5), 1, 1, 'maintenance'));
    assert.deepEqual(checkSkips([h], [skipped(1), skipped(2)], [], new Map([[1, 0]])).tooMany, []);
    const three = checkSkips([h], [skipped(1), skipped(2), skipped(3)], [], new Map([[1, 0]]));
    assert.deepEqual(three.tooMany, [{ schedule: 'a', skipped: 3, consumed: 2, exact: true }]);
    // One still left at the end: only one consumed... and the other not consumed is no row (info).
    const left = checkSkips([withSkips(skipChange(s(0.5), 3))], [skipped(1)], [], new Map([[1, 1]]));
    assert.deepEqual(left.tooMany, []);
    assert.equal(left.fewer[0]?.consumed, 2);
    // A removed schedule has no count left to read: bounded by what was set.
    const gone = checkSkips([withSkips(skipChange(s(0.5), 2))], [skipped(1), skipped(2)], [], new Map());
    assert.deepEqual([gone.tooMany, gone.fewer], [[], []]);
  });

  test('a schedule with skipped rows and no skip set fails', () => {
    const h = history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }]);
    const r = checkSkips([h], [skipped(1)], [], new Map([[1, 0]]));
    assert.equal(r.tooMany.length, 1);
    assert.equal(r.badReason.length, 1);
  });
});

describe('exclusion groups (invariant 3g)', () => {
  const grouped = (
    name: string,
    id: number,
    group: string | null,
    over: Partial<ScheduleRecord> = {},
  ): [string, ScheduleHistory] => [
    name,
    {
      id,
      name,
      role: 'special',
      changes: [
        {
          at: s(-1),
          kind: 'insert',
          style: 'cursor',
          record: record({ id, name, exclusionGroup: group, everyMs: 4000, ...over }),
        },
      ],
    },
  ];
  const groupContext = (b: string | null, ledger: LedgerRow[] = []): RunContext => ({
    ...context(ledger),
    histories: new Map([grouped('a', 1, 'g'), grouped('b', 2, b, { overlap: 'buffer_one' })]),
  });

  test('runs of two schedules of one group that overlap fail; of no group they may overlap', () => {
    const runs = [run('x', s(0), s(2)), run('y', s(1), s(3), { schedule: 'b' })];
    const r = checkGroupOverlaps(runs, groupContext('g'));
    assert.equal(r.overlaps.length, 1);
    assert.equal(r.overlaps[0]?.schedule, 'g');
    assert.equal(r.checkedSchedules, 2);
    assert.equal(checkGroupOverlaps(runs, groupContext(null)).overlaps.length, 0);
    assert.equal(checkGroupOverlaps(runs, groupContext('h')).overlaps.length, 0);
  });

  test("back-to-back runs across the group pass; a pair of one schedule is invariant 3's", () => {
    const runs = [run('x', s(0), s(1)), run('y', s(1), s(2), { schedule: 'b' }), run('z', s(1.5), s(2.5))];
    const r = checkGroupOverlaps(runs, groupContext('g'));
    // y and z overlap (b then a): counted once; x and z (both a) are not the group check's.
    assert.deepEqual(
      r.overlaps.map((o) => [o.earlier.taskId, o.later.taskId]),
      [['y', 'z']],
    );
  });

  test('the lease lapsed in the queue is counted apart, as for one schedule', () => {
    // a every 4 s: enqueued at 0, its lock lasts to the next slot (4 s); started at 4.5 s.
    const ledger = [row(s(0), { taskId: 'x', enqueuedAt: s(0), claimedAt: s(0) })];
    const runs = [run('x', s(4.5), s(6)), run('y', s(5), s(5.5), { schedule: 'b' })];
    const r = checkGroupOverlaps(runs, groupContext('g', ledger));
    assert.equal(r.overlaps.length, 0);
    assert.equal(r.lapsed.length, 1);
  });
});

describe('backfills (invariant 6)', () => {
  const inserted = history([{ at: s(-1), kind: 'insert', style: 'cursor', record: record() }]);
  const request = (over: Partial<BackfillRequest> = {}): BackfillRequest => ({
    at: s(5),
    id: 7,
    schedule: 'a',
    scheduleId: 1,
    from: s(-10),
    to: s(-8),
    ratePerSecond: 2,
    slots: [s(-10), s(-9), s(-8)],
    ...over,
  });
  const state = (over: Partial<import('./evidence.ts').BackfillState> = {}) => ({
    id: 7,
    scheduleId: 1,
    schedule: 'a',
    status: 'done',
    error: null,
    slots: 3,
    claimed: 3,
    already: 0,
    ...over,
  });
  const own = [0, 1, 2, 3, 4, 5].map((n) => row(s(n)));
  const backfilled = [-10, -9, -8].map((n) => row(s(n), { backfillId: 7, claimedAt: s(6) }));

  test('backfilled runs of past slots are owed by the request: no gap, not off the grid', () => {
    const ledger = [...backfilled, ...own];
    const slots = checkSlots([inserted], ledger, always, s(5), new Map());
    assert.deepEqual([slots.gaps, slots.offGrid], [[], []]);
    const r = checkBackfills([request()], [state()], ledger, [inserted]);
    assert.deepEqual([r.problems, r.strays], [[], []]);
    assert.equal(r.backfilledRows, 3);
  });

  test('a request left open, or failed while its schedule lives, fails', () => {
    const ledger = [...backfilled, ...own];
    for (const status of ['running', 'pending', 'failed'])
      assert.equal(checkBackfills([request()], [state({ status })], ledger, [inserted]).problems.length, 1);
    const removed = history([...inserted.changes, { at: s(6), kind: 'delete' }]);
    assert.deepEqual(
      checkBackfills([request()], [state({ status: 'failed' })], backfilled.slice(0, 1), [removed]).problems,
      [],
    );
  });

  test('a slot of the range with no row, or counts that do not add up, fail; slots there before count', () => {
    const missing = checkBackfills([request()], [state()], [backfilled[0] as LedgerRow, ...own], [inserted]);
    assert.ok(missing.problems.some((p) => p.problem.includes('has 0 ledger rows')));
    // A range over the schedule's own slots: already in the ledger, nothing sent, done.
    const over = request({ from: s(1), to: s(3), slots: [s(1), s(2), s(3)] });
    const done = checkBackfills([over], [state({ claimed: 0, already: 3 })], own, [inserted]);
    assert.deepEqual(done.problems, []);
    const short = checkBackfills([over], [state({ claimed: 0, already: 2 })], own, [inserted]);
    assert.equal(short.problems.length, 1);
  });

  test('a backfilled row outside its range, or of a request never made, fails', () => {
    const outside = row(s(-20), { backfillId: 7 });
    const r = checkBackfills([request()], [state()], [...backfilled, outside], [inserted]);
    assert.ok(r.problems.some((p) => p.problem.includes('outside its range')));
    const stray = checkBackfills([], [], [row(s(-20), { backfillId: 9 })], [inserted]);
    assert.equal(stray.strays.length, 1);
  });

  test('a backfilled run holds its lock for its pace, not until a next slot long past', () => {
    // Backfill at 2/s of a 1 s schedule, sent at 10 s: the lock lasts 1 s (pace floor), not 100 ms.
    const ledger = [row(s(-10), { taskId: 'x', backfillId: 7, claimedAt: s(10), enqueuedAt: s(10) })];
    const ctx = { ...context(ledger), backfillPaceMs: new Map([[7, 500]]) };
    const within = checkOverlaps([run('x', s(10.5), s(12)), run('y', s(11), s(11.5))], ctx);
    assert.equal(within.overlaps.length, 1);
    const after = checkOverlaps([run('x', s(11.2), s(12)), run('y', s(11.5), s(11.6))], ctx);
    assert.equal(after.lapsed.length, 1);
  });
});
