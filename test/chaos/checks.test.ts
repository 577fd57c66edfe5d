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
import type { ClusterEvent } from './cluster.ts';
import type { BeatLog, LedgerRow } from './evidence.ts';
import { leadership } from './leadership.ts';
import { editPlan, FAULT_KINDS, faultPlan, LOCK_RESTART_SPACING_MS, workload } from './plan.ts';
import { Random } from './random.ts';
import type { Execution } from './records.ts';
import { executions, parseRecords } from './records.ts';
import { checkDuplicates, checkOverlaps, checkStranded, type RunContext } from './runs.ts';
import { checkSlots, LEADER_CHANCE_MS } from './slots.ts';
import type { ScheduleHistory } from './world.ts';

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
    for (const kind of ['insert', 'edit-timing', 'edit-other', 'pause', 'delete', 'trigger'])
      assert.ok(edits.filter((e) => e.kind === kind).length >= 5, kind);
    assert.deepEqual(workload(new Random(3), 100), workload(new Random(3), 100));
    assert.equal(workload(new Random(3), 100).length, 100);
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
