/** The pure deadline decisions (src/model/deadline.ts) and the alert's format (alert-message.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alertBody,
  alertKey,
  alertsToRaise,
  type BreachKind,
  type Deadlines,
  judge,
  judgePass,
  type OccurrenceFacts,
  retryDelayMs,
  signAlert,
  verifyAlertSignature,
} from '../../src/model/index.ts';

const SLOT = Date.parse('2026-06-01T10:00:00Z');
const s = (n: number) => SLOT + n * 1000;
const both: Deadlines = { startMs: 60_000, finishMs: 600_000 };
const facts = (over: Partial<OccurrenceFacts>): OccurrenceFacts => ({
  scheduledFor: SLOT,
  status: 'enqueued',
  startedAt: null,
  finishedAt: null,
  error: null,
  ...over,
});

test('a run that starts and finishes within its deadlines is on time, with its lateness', () => {
  const j = judge(both, facts({ status: 'succeeded', startedAt: s(5), finishedAt: s(120) }), s(130));
  assert.deepEqual(j.breaches, []);
  assert.equal(j.outcome?.kind, 'on_time');
  assert.equal(j.latenessMs, 5_000);
});

test('not started by the start deadline is a breach at once, while the run may still start', () => {
  const before = judge(both, facts({}), s(59));
  assert.deepEqual(before, { breaches: [], outcome: null, latenessMs: null });
  const after = judge(both, facts({}), s(61));
  assert.equal(after.outcome, null);
  assert.deepEqual(
    after.breaches.map((b) => b.kind),
    ['started_late'],
  );
  assert.match(after.breaches[0]!.reason, /not started 1m after its slot/);
});

test('a late start that then finishes in time ends started_late; a late finish ends not_finished', () => {
  const late = judge(both, facts({ status: 'succeeded', startedAt: s(90), finishedAt: s(100) }), s(200));
  assert.equal(late.outcome?.kind, 'started_late');
  assert.match(late.outcome!.reason, /started 1m 30s after its slot, past its start deadline of 1m/);
  const slow = judge(both, facts({ status: 'succeeded', startedAt: s(1), finishedAt: s(700) }), s(800));
  assert.equal(slow.outcome?.kind, 'not_finished');
  assert.match(slow.outcome!.reason, /finished 11m 40s after its slot, past its finish deadline of 10m/);
});

test('still running past the finish deadline is a breach before the run ends', () => {
  const j = judge({ startMs: null, finishMs: 10_000 }, facts({ status: 'running', startedAt: s(1) }), s(11));
  assert.equal(j.outcome, null);
  assert.deepEqual(
    j.breaches.map((b) => b.kind),
    ['not_finished'],
  );
  assert.match(j.breaches[0]!.reason, /still running/);
});

test('no start seen: the finish bounds the start', () => {
  const fast = judge(both, facts({ status: 'succeeded', finishedAt: s(30) }), s(40));
  assert.equal(fast.outcome?.kind, 'on_time');
  assert.equal(fast.latenessMs, 30_000);
  const unknown = judge(both, facts({ status: 'succeeded', finishedAt: s(90) }), s(100));
  assert.equal(unknown.outcome?.kind, 'started_late');
  assert.match(unknown.outcome!.reason, /no start was seen/);
});

test('failed, missed, skipped and lost runs, each with its reason', () => {
  const cases: Array<[Partial<OccurrenceFacts>, string, RegExp]> = [
    [{ status: 'failed', error: "NotRegistered('x')" }, 'failed', /the run failed: NotRegistered/],
    [{ status: 'missed', error: 'no leader ran at its time' }, 'missed', /not run: no leader/],
    [{ status: 'expired' }, 'missed', /past its expiry/],
    [{ status: 'skipped_overlap' }, 'skipped', /previous run still held/],
    [{ status: 'lease_ended', error: 'lost' }, 'missed', /no start and no finish/],
    [{ status: 'lease_ended', startedAt: s(1) }, 'not_finished', /started, then no finish/],
  ];
  for (const [over, kind, reason] of cases) {
    const j = judge(both, facts({ ...over, finishedAt: s(2) }), s(3));
    assert.equal(j.outcome?.kind, kind, JSON.stringify(over));
    assert.match(j.outcome!.reason, reason);
    assert.ok(j.breaches.some((b) => b.kind === kind));
  }
  const takenBack = judge(
    both,
    facts({
      status: 'missed',
      error: 'taken back: the schedule was paused after this occurrence was claimed ahead of its instant',
    }),
    s(3),
  );
  assert.equal(takenBack.outcome?.kind, 'skipped');
  assert.deepEqual(takenBack.breaches, [], 'a slot an operator took away is no breach');
  const paused = judge(both, facts({ status: 'paused' }), s(3));
  assert.equal(paused.outcome?.kind, 'skipped');
  assert.deepEqual(paused.breaches, [], 'a pause is the operator’s, not a breach');
  const skipped = judge(both, facts({ status: 'skipped', error: 'skipped: maintenance window' }), s(3));
  assert.equal(skipped.outcome?.kind, 'skipped');
  assert.match(skipped.outcome!.reason, /maintenance window/);
  assert.deepEqual(skipped.breaches, [], 'a slot an operator skipped (beat skip) is no breach');
});

test('alerts: one per kind while in breach, one recovery, keys naming schedule, slot and kind', () => {
  const open = new Map<number, Set<BreachKind>>();
  const late = (slot: number) => ({
    scheduleId: 7,
    scheduleName: 'nightly',
    scheduledFor: slot,
    judgement: judge(both, facts({ scheduledFor: slot, status: 'failed', error: 'boom' }), slot + 1000),
  });
  const onTime = (slot: number) => ({
    scheduleId: 7,
    scheduleName: 'nightly',
    scheduledFor: slot,
    judgement: judge(
      both,
      facts({ scheduledFor: slot, status: 'succeeded', startedAt: slot, finishedAt: slot + 1 }),
      slot + 2,
    ),
  });
  const first = alertsToRaise(open, [late(s(0)), late(s(60))]);
  assert.deepEqual(
    first.map((a) => [a.kind, a.key]),
    [['failed', alertKey(7, s(0), 'failed')]],
  );
  assert.deepEqual([...(open.get(7) ?? [])], ['failed']);
  const second = alertsToRaise(open, [onTime(s(120)), onTime(s(180))]);
  assert.deepEqual(
    second.map((a) => a.kind),
    ['recovered'],
  );
  assert.match(second[0]!.reason, /back on time after failed/);
  assert.equal(open.has(7), false);
});

test('retries double from a second up to the bound', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 10, 50].map((n) => retryDelayMs(n, 60_000)),
    [1_000, 2_000, 4_000, 8_000, 60_000, 60_000],
  );
});

test('the signature covers the timestamp and the body; a receiver verifies it', () => {
  const body = JSON.stringify(
    alertBody(
      {
        key: 'k',
        kind: 'failed',
        scheduleName: 'a b',
        scheduledFor: new Date(SLOT),
        reason: 'r',
        raisedAt: new Date(SLOT),
      },
      'https://metronome.example.com',
    ),
  );
  assert.match(body, /"dashboard":"https:\/\/metronome.example.com\/schedules\/a%20b"/);
  const header = signAlert(body, 'secret-secret-secret', 1_700_000_000);
  assert.match(header, /^t=1700000000,v1=[0-9a-f]{64}$/);
  assert.ok(verifyAlertSignature(header, body, 'secret-secret-secret', 1_700_000_100));
  assert.ok(!verifyAlertSignature(header, `${body} `, 'secret-secret-secret', 1_700_000_100));
  assert.ok(!verifyAlertSignature(header, body, 'other-secret-secret', 1_700_000_100));
  assert.ok(!verifyAlertSignature(header, body, 'secret-secret-secret', 1_700_001_000), 'too old');
});

test('a pass: outcomes decided, alerts raised, the oldest slot still open', () => {
  const row = (taskId: string, scheduledFor: number, over: Partial<OccurrenceFacts>) => ({
    taskId,
    scheduleId: 1,
    scheduleName: 'a',
    startDeadlineMs: 60_000,
    finishDeadlineMs: null,
    ...facts({ scheduledFor, ...over }),
  });
  const pass = judgePass(
    [
      row('t1', s(0), { status: 'succeeded', startedAt: s(1), finishedAt: s(2) }),
      row('t2', s(60), { status: 'enqueued' }),
      row('t3', s(120), { status: 'running', startedAt: s(121) }),
    ],
    new Map(),
    s(125),
  );
  assert.deepEqual(
    pass.decided.map((d) => [d.taskId, d.outcome]),
    [['t1', 'on_time']],
  );
  assert.deepEqual(
    pass.alerts.map((a) => [a.kind, a.scheduledFor]),
    [['started_late', s(60)]],
  );
  assert.equal(pass.oldestOpen, s(60));
});
