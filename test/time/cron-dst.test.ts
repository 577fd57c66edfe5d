/**
 * DST behaviour of crontab schedules: the rule of docs/time.md ("DST: one rule"), checked by name on the cases
 * cron-parser gets wrong, and exhaustively against the brute-force reference around every offset
 * change of the zones with unusual transitions.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileSchedule, type DstPolicy, ScheduleSpecError } from '../../src/time/index.ts';
import { findTransitions, type ReferencePolicy, referenceFires } from '../support/cron-reference.ts';

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const cron = (expr: string, timezone: string) =>
  compileSchedule({ kind: 'crontab', cron: expr, timezone }, { name: 'dst-test' });
function fires(expr: string, zone: string, after: string, count: number): string[] {
  const schedule = cron(expr, zone);
  const out: string[] = [];
  for (const at of schedule.fires(Date.parse(after))) {
    out.push(iso(at) as string);
    if (out.length === count) break;
  }
  return out;
}

describe('the DST rule, case by case', () => {
  test('Berlin: 02:30 in the spring gap runs once at 03:30; in the fall-back runs at the first 02:30', () => {
    assert.deepEqual(fires('30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2), [
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    assert.deepEqual(fires('30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    const s = cron('30 2 * * *', 'Europe/Berlin');
    assert.deepEqual(s.explain(Date.parse('2026-03-29T01:30:00Z')), {
      kind: 'shifted',
      wall: '2026-03-29T02:30:00',
      byMs: 3_600_000,
    });
    assert.deepEqual(s.explain(Date.parse('2026-10-25T00:30:00Z')), {
      kind: 'fold-first',
      repeated: 'first',
    });
  });

  test('Lord_Howe (30-minute shift): daily and weekly expressions work (cron-parser throws) and shift by 30 min', () => {
    assert.deepEqual(fires('0 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', 2), [
      '2026-10-03T15:30:00.000Z', // 02:00 does not exist on 4 October: 02:30 +11:00
      '2026-10-04T15:00:00.000Z',
    ]);
    assert.equal(fires('30 1 * * 0', 'Australia/Lord_Howe', '2026-04-01T00:00:00Z', 3).length, 3);
    // Fall-back 2026-04-05 02:00 +11 → 01:30 +10:30: 01:45 occurs twice, runs at the first (+11:00).
    assert.deepEqual(fires('45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', 2), [
      '2026-04-04T14:45:00.000Z',
      '2026-04-05T15:15:00.000Z',
    ]);
  });

  test('Troll (two-hour shift): a fixed 02:00 job runs once on fall-back and two hours later in the gap', () => {
    // 2026-10-25 03:00 +02 → 01:00 +00: 02:00 occurs twice; first is 00:00Z.
    assert.deepEqual(fires('0 2 * * *', 'Antarctica/Troll', '2026-10-24T12:00:00Z', 2), [
      '2026-10-25T00:00:00.000Z',
      '2026-10-26T02:00:00.000Z',
    ]);
    // 2026-03-29 01:00 +00 → 03:00 +02: 02:00 does not exist; read with +00 it is 02:00Z = 04:00 local.
    assert.deepEqual(fires('0 2 * * *', 'Antarctica/Troll', '2026-03-28T12:00:00Z', 2), [
      '2026-03-29T02:00:00.000Z',
      '2026-03-30T00:00:00.000Z',
    ]);
  });

  test('Havana: midnight that occurs twice runs at the first occurrence', () => {
    // 2026-11-01 01:00 CDT → 00:00 CST.
    assert.deepEqual(fires('0 0 * * *', 'America/Havana', '2026-10-31T12:00:00Z', 2), [
      '2026-11-01T04:00:00.000Z',
      '2026-11-02T05:00:00.000Z',
    ]);
  });

  test('an hour field starting with * runs on real time: nothing in the gap, both passes of the repeated hour', () => {
    // Havana spring 2026-03-08 00:00 → 01:00: 00:00 local does not exist, so */2 skips it.
    assert.deepEqual(fires('0 */2 * * *', 'America/Havana', '2026-03-07T22:30:00Z', 3), [
      '2026-03-07T23:00:00.000Z', // 18:00 CST
      '2026-03-08T01:00:00.000Z', // 20:00 CST
      '2026-03-08T03:00:00.000Z', // 22:00 CST; 00:00 is skipped; next 02:00 CDT
    ]);
    assert.equal(
      fires('0 */2 * * *', 'America/Havana', '2026-03-08T03:00:00Z', 1)[0],
      '2026-03-08T06:00:00.000Z',
    );
    // New York fall-back 2026-11-01: 01:xx runs twice (EDT then EST).
    assert.deepEqual(fires('30 * * * *', 'America/New_York', '2026-11-01T04:00:00Z', 3), [
      '2026-11-01T04:30:00.000Z', // 00:30 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:30:00.000Z', // 01:30 EST
    ]);
  });

  test('two local times that land on one instant fire once (merged)', () => {
    const s = cron('30 2,3 * * *', 'Europe/Berlin');
    assert.deepEqual(fires('30 2,3 * * *', 'Europe/Berlin', '2026-03-29T00:00:00Z', 2), [
      '2026-03-29T01:30:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
    assert.equal(s.explain(Date.parse('2026-03-29T01:30:00Z'))?.kind, 'merged');
  });

  test('Sao Paulo 2018: the midnight that does not exist runs at 01:00', () => {
    assert.deepEqual(fires('0 0 * * *', 'America/Sao_Paulo', '2018-11-03T12:00:00Z', 2), [
      '2018-11-04T03:00:00.000Z', // 00:00 -03 does not exist; read with -03 it is 01:00 -02
      '2018-11-05T02:00:00.000Z',
    ]);
  });

  test('Apia 2011 skipped 30 December entirely: its run happens once, on the 31st', () => {
    assert.deepEqual(fires('0 12 * * *', 'Pacific/Apia', '2011-12-29T12:00:00Z', 3), [
      '2011-12-29T22:00:00.000Z', // 29 Dec 12:00 -10
      '2011-12-30T22:00:00.000Z', // 30 Dec 12:00 (does not exist) read with -10 = 31 Dec 12:00 +14
      '2011-12-31T22:00:00.000Z', // 1 Jan 12:00 +14
    ]);
  });
});

// Zones with unusual transitions, and the years to look at.
const ZONES: Array<[string, number]> = [
  ['Australia/Lord_Howe', 2026],
  ['Antarctica/Troll', 2026],
  ['America/Havana', 2026],
  ['America/Santiago', 2026],
  ['Pacific/Chatham', 2026],
  ['America/St_Johns', 2026],
  ['America/St_Johns', 2009], // clocks changed at 00:01 local until 2011
  ['Europe/Dublin', 2026],
  ['America/Sao_Paulo', 2018],
  ['Asia/Kathmandu', 1986],
  ['Europe/Berlin', 2026],
  ['America/New_York', 2026],
  ['Pacific/Apia', 2011],
];

const EXPRESSIONS: Array<string | Record<string, unknown>> = [
  '0 0 * * *',
  '30 0 * * *',
  '0 1 * * *',
  '15 1 * * *',
  '45 1 * * *',
  '0 2 * * *',
  '30 2 * * *',
  '0 3 * * *',
  '59 23 * * *',
  '0,30 0-3 * * *',
  '45 1,2,3 * * *',
  '0 1-3 * * *',
  '*/15 * * * *',
  '0 * * * *',
  '30 * * * *',
  '0 */2 * * *',
  '*/20 */3 * * *',
  '0 2 * * 0',
  '30 2 * * SUN',
  '0 0 * * 6',
  '0 2 * * 0L',
  '0 2 * * 0#1',
  '0 0 1,15 * 1',
  '0 0 L * *',
  '0 0 * * MON-FRI',
  '@daily',
  '@hourly',
  '30 0 2 * * *',
  '0 30 1-2 * * *',
  '*/30 * * * * *',
  'H H * * *',
  { minute: 0, hour: 2 },
  { minute: '*/30' },
  { minute: 30, hour: '1-3', dayOfWeek: 'sun' },
];

// Start points around each transition: before, at, inside the gap or repeated hour, after.
const WINDOWS_S = [-30 * 3600, -3 * 3600, -3660, -60, -5, 1, 29 * 60, 59 * 60, 3660, 2 * 3600];

describe('the engine agrees with the brute-force reference around every transition', () => {
  for (const [zone, year] of ZONES) {
    test(`${zone} ${year}`, () => {
      const transitions = findTransitions(zone, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
      assert.ok(transitions.length > 0 || zone === 'Asia/Kathmandu', `${zone} has transitions in ${year}`);
      if (zone === 'Asia/Kathmandu') transitions.push(Date.UTC(1985, 11, 31, 18, 30)); // +05:30 → +05:45
      for (const t of transitions) assert.equal(t % 60_000, 0, 'the reference memoises offsets per minute');
      let compared = 0;
      for (const expr of EXPRESSIONS) {
        const schedule = compileSchedule(
          { kind: 'crontab', cron: expr as never, timezone: zone },
          { name: 'ref' },
        );
        for (const t of transitions) {
          for (const w of WINDOWS_S) {
            const after = t + w * 1000;
            const expected = referenceFires(expr as never, zone, after, 6, 'ref').map((f) => iso(f.at));
            const actual: Array<string | null> = [];
            for (const at of schedule.fires(after)) {
              actual.push(iso(at));
              if (actual.length === expected.length) break;
            }
            assert.deepEqual(actual, expected, `${JSON.stringify(expr)} in ${zone} after ${iso(after)}`);
            compared += expected.length;
          }
        }
      }
      assert.ok(compared > 1000);
    });
  }
});

const POLICIES: DstPolicy[] = ['first', 'second', 'both'].flatMap((repeated) =>
  ['shift', 'skip'].map((missing) => ({ repeated, missing }) as DstPolicy),
);

// Time-of-day and real-time expressions, both cron forms, seconds, L and # (the policy applies to all).
const POLICY_EXPRESSIONS: Array<string | Record<string, unknown>> = [
  '0 0 * * *',
  '15 1 * * *',
  '30 2 * * *',
  '0,30 0-3 * * *',
  '*/15 * * * *',
  '0 */2 * * *',
  '0 2 * * 0L',
  '0 30 1-2 * * *',
  'H H * * *',
  { minute: 30, hour: '1-3', dayOfWeek: 'sun' },
];

describe('DST policies, case by case', () => {
  const berlin = (expr: string, dst: Partial<DstPolicy>, after: string, count: number) => {
    const schedule = compileSchedule({ kind: 'crontab', cron: expr, timezone: 'Europe/Berlin', dst });
    const out: string[] = [];
    for (const at of schedule.fires(Date.parse(after))) {
      out.push(iso(at) as string);
      if (out.length === count) break;
    }
    return out;
  };

  test('a repeated 02:30 runs at the first, the second, or both', () => {
    const fall = '2026-10-24T12:00:00Z';
    assert.deepEqual(berlin('30 2 * * *', {}, fall, 2), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    assert.deepEqual(berlin('30 2 * * *', { repeated: 'second' }, fall, 2), [
      '2026-10-25T01:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    assert.deepEqual(berlin('30 2 * * *', { repeated: 'both' }, fall, 3), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T01:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // Between the two passes, `both` still has the second to come; `first` has nothing that day.
    const between = '2026-10-25T01:00:00Z';
    assert.deepEqual(berlin('30 2 * * *', { repeated: 'both' }, between, 1), ['2026-10-25T01:30:00.000Z']);
    assert.deepEqual(berlin('30 2 * * *', { repeated: 'first' }, between, 1), ['2026-10-26T01:30:00.000Z']);
    const s = compileSchedule({
      kind: 'crontab',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      dst: 'repeated=second',
    });
    assert.deepEqual(s.explain(Date.parse('2026-10-25T01:30:00Z')), {
      kind: 'fold-second',
      repeated: 'second',
    });
  });

  test('a missing 02:30 shifts by the gap (default) or is skipped', () => {
    const spring = '2026-03-28T12:00:00Z';
    assert.deepEqual(berlin('30 2 * * *', {}, spring, 1), ['2026-03-29T01:30:00.000Z']);
    assert.deepEqual(berlin('30 2 * * *', { missing: 'skip' }, spring, 1), ['2026-03-30T00:30:00.000Z']);
    // A real-time expression skips by default and can shift: 02:00 and 02:30 land on 03:00 and 03:30.
    assert.deepEqual(berlin('0,30 * * * *', {}, '2026-03-29T00:15:00Z', 2), [
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
    ]);
    assert.deepEqual(berlin('0,30 * * * *', { repeated: 'first' }, '2026-10-25T00:15:00Z', 4), [
      '2026-10-25T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET: the second 02:00 and 02:30 are not run
      '2026-10-25T02:30:00.000Z',
      '2026-10-25T03:00:00.000Z',
    ]);
  });

  test('the policy is validated, and only crontabs take one', () => {
    const compile = (spec: Record<string, unknown>) => () => compileSchedule(spec);
    const base = { kind: 'crontab', cron: '30 2 * * *', timezone: 'Europe/Berlin' };
    assert.throws(compile({ ...base, dst: { repeated: 'last' } }), ScheduleSpecError);
    assert.throws(compile({ ...base, dst: { missing: 'later' } }), /dst.missing.*shift, skip/);
    assert.throws(compile({ ...base, dst: { ambiguous: 'first' } }), /unknown part "ambiguous"/);
    assert.throws(compile({ ...base, dst: 'second' }), /not a DST policy/);
    assert.throws(compile({ kind: 'interval', every: '1h', dst: { repeated: 'both' } }), /crontabs only/);
    assert.deepEqual(compileSchedule({ ...base, dst: 'missing=skip' }).dst, {
      repeated: 'first',
      missing: 'skip',
    });
    assert.deepEqual(compileSchedule({ ...base, cron: '0 * * * *' }).dst, {
      repeated: 'both',
      missing: 'skip',
    });
  });

  test('dstEffects lists what the policy does at each clock change that touches a matching time', () => {
    const s = compileSchedule({
      kind: 'crontab',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      dst: { repeated: 'both', missing: 'skip' },
    });
    const effects = s.dstEffects(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z'));
    assert.deepEqual(
      effects.map((e) => [e.kind, e.walls, e.count, e.outcome, e.fires.map(iso)]),
      [
        ['gap', ['2026-03-29T02:30:00'], 1, 'skipped', []],
        [
          'fold',
          ['2026-10-25T02:30:00'],
          1,
          'both',
          ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z'],
        ],
      ],
    );
    // 03:30 is never skipped nor repeated in Berlin: no effects.
    const quiet = compileSchedule({ kind: 'crontab', cron: '30 3 * * *', timezone: 'Europe/Berlin' });
    assert.deepEqual(
      quiet.dstEffects(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2027-01-01T00:00:00Z')),
      [],
    );
  });
});

describe('every DST policy agrees with the brute-force reference around every transition', () => {
  for (const [zone, year] of ZONES) {
    test(`${zone} ${year}`, () => {
      const transitions = findTransitions(zone, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1));
      if (zone === 'Asia/Kathmandu') transitions.push(Date.UTC(1985, 11, 31, 18, 30));
      let compared = 0;
      for (const dst of POLICIES) {
        for (const expr of POLICY_EXPRESSIONS) {
          const schedule = compileSchedule(
            { kind: 'crontab', cron: expr as never, timezone: zone, dst },
            { name: 'ref' },
          );
          for (const t of transitions) {
            for (const w of WINDOWS_S) {
              const after = t + w * 1000;
              const expected = referenceFires(
                expr as never,
                zone,
                after,
                4,
                'ref',
                undefined,
                dst as ReferencePolicy,
              );
              const actual: Array<string | null> = [];
              for (const at of schedule.fires(after)) {
                actual.push(iso(at));
                if (actual.length === expected.length) break;
              }
              assert.deepEqual(
                actual,
                expected.map((f) => iso(f.at)),
                `${JSON.stringify(expr)} ${JSON.stringify(dst)} in ${zone} after ${iso(after)}`,
              );
              compared += expected.length;
            }
          }
        }
      }
      assert.ok(compared > 500);
    });
  }
});
