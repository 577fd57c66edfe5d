/**
 * Property tests over random specs: random valid crontabs agree with the brute-force reference in
 * random zones and with cron-parser in UTC (where it has no DST to get wrong); fires strictly
 * increase; random invalid input only ever raises ScheduleSpecError.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CronExpressionParser } from 'cron-parser';
import fc from 'fast-check';
import { compileSchedule, ScheduleSpecError } from '../../src/time/index.ts';
import { referenceFires } from '../support/cron-reference.ts';

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe',
  'Antarctica/Troll',
  'America/Havana',
  'America/Santiago',
  'Pacific/Chatham',
  'America/St_Johns',
  'Europe/Dublin',
  'America/Sao_Paulo',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'Pacific/Kiritimati',
];

const range = (min: number, max: number) =>
  fc.integer({ min, max }).chain((a) => fc.integer({ min: a, max }).map((b) => `${a}-${b}`));
function field(min: number, max: number, extra: fc.Arbitrary<string>[] = []): fc.Arbitrary<string> {
  const value = fc.integer({ min, max }).map(String);
  return fc.oneof(
    fc.constant('*'),
    value,
    range(min, max),
    fc.integer({ min: 1, max: Math.max(1, Math.floor((max - min + 1) / 2)) }).map((k) => `*/${k}`),
    fc.tuple(range(min, max), fc.integer({ min: 1, max: 5 })).map(([r, k]) => `${r}/${k}`),
    fc.uniqueArray(fc.integer({ min, max }), { minLength: 2, maxLength: 4 }).map((v) => v.join(',')),
    ...extra,
  );
}
const sparseSeconds = fc.oneof(
  fc.constant('0'),
  fc.integer({ min: 0, max: 59 }).map(String),
  fc.constant('0,30'),
);
const cronString = fc
  .tuple(
    fc.boolean(),
    sparseSeconds,
    field(0, 59),
    field(0, 23),
    field(1, 31, [fc.constant('L'), fc.constant('1,L')]),
    field(1, 12, [fc.constant('JAN-JUN'), fc.constant('MAR,OCT,NOV')]),
    field(0, 7, [
      fc.constant('MON-FRI'),
      fc.integer({ min: 0, max: 6 }).map((d) => `${d}L`),
      fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 5 })).map(([d, k]) => `${d}#${k}`),
    ]),
  )
  .map(
    ([withSeconds, s, m, h, dom, mon, dow]) => `${withSeconds ? `${s} ` : ''}${m} ${h} ${dom} ${mon} ${dow}`,
  );
const instant = fc
  .integer({ min: Date.UTC(2000, 0, 1) / 1000, max: Date.UTC(2040, 0, 1) / 1000 })
  .map((s) => s * 1000);

/** Compile, or undefined when the random expression can never fire (e.g. 31 in February only). */
function tryCompile(expr: string, zone: string) {
  try {
    return compileSchedule({ kind: 'crontab', cron: expr, timezone: zone }, { name: 'prop' });
  } catch (error) {
    if (error instanceof ScheduleSpecError) return undefined;
    throw error;
  }
}

function take(schedule: { fires(after: number): Generator<number> }, after: number, n: number): number[] {
  const out: number[] = [];
  for (const at of schedule.fires(after)) {
    out.push(at);
    if (out.length === n) break;
  }
  return out;
}

describe('crontab properties', () => {
  test('random crontabs in random zones agree with the brute-force reference', () => {
    fc.assert(
      fc.property(cronString, fc.constantFrom(...ZONES), instant, (expr, zone, after) => {
        const schedule = tryCompile(expr, zone);
        if (!schedule) return;
        const expected = referenceFires(expr, zone, after, 3, 'prop', 30 * 366).map((f) => f.at);
        assert.deepEqual(
          take(schedule, after, expected.length),
          expected,
          `${expr} in ${zone} after ${new Date(after).toISOString()}`,
        );
      }),
      { numRuns: 250, seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined },
    );
  });

  test('in UTC the engine agrees with cron-parser (which is right when there is no DST)', () => {
    fc.assert(
      fc.property(cronString, instant, (expr, after) => {
        const schedule = tryCompile(expr, 'UTC');
        if (!schedule) return;
        const parser = CronExpressionParser.parse(expr, {
          tz: 'UTC',
          currentDate: new Date(after),
          hashSeed: 'prop',
        });
        const expected: number[] = [];
        for (let i = 0; i < 5; i++) expected.push(parser.next().getTime());
        assert.deepEqual(take(schedule, after, 5), expected, expr);
      }),
      { numRuns: 400 },
    );
  });

  test('fires are strictly after the instant asked about and strictly increasing', () => {
    fc.assert(
      fc.property(
        cronString,
        fc.constantFrom(...ZONES),
        instant,
        fc.integer({ min: 0, max: 999 }),
        (expr, zone, after, ms) => {
          const schedule = tryCompile(expr, zone);
          if (!schedule) return;
          let previous = after + ms;
          for (const at of take(schedule, after + ms, 8)) {
            assert.ok(at > previous, `${expr} in ${zone}: ${at} after ${previous}`);
            assert.equal(at % 1000, 0);
            previous = at;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('interval, clocked and solar properties', () => {
  test('intervals fire on their grid, within one period, strictly after', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1000, max: 7 * 86_400_000 }),
        fc.option(instant, { nil: undefined }),
        instant,
        (every, anchor, after) => {
          const schedule = compileSchedule({ kind: 'interval', every, anchor });
          const next = schedule.next(after) as number;
          assert.ok(next > after && next <= after + every);
          assert.ok((next - (anchor ?? 0)) % every === 0, 'on the grid');
        },
      ),
    );
  });

  test('clocked fires once', () => {
    fc.assert(
      fc.property(instant, instant, (runAt, after) => {
        const schedule = compileSchedule({ kind: 'clocked', runAt });
        assert.equal(schedule.next(after), runAt > after ? runAt : null);
        assert.equal(schedule.next(runAt), null);
      }),
    );
  });

  test('solar fires are whole seconds, strictly after, at most a year apart or dormant', () => {
    const events = [
      'dawn_astronomical',
      'dawn_nautical',
      'dawn_civil',
      'sunrise',
      'solar_noon',
      'sunset',
      'dusk_civil',
      'dusk_nautical',
      'dusk_astronomical',
    ] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...events),
        fc.double({ min: -90, max: 90, noNaN: true }),
        fc.double({ min: -180, max: 180, noNaN: true }),
        instant,
        (event, latitude, longitude, after) => {
          const next = compileSchedule({ kind: 'solar', event, latitude, longitude }).next(after);
          if (next === null) return;
          assert.ok(next > after && next - after < 367 * 86_400_000);
          assert.equal(next % 1000, 0);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('invalid input', () => {
  const junk = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(fc.anything(), { maxLength: 3 }),
    fc.object(),
  );
  const cronish = fc.oneof(
    fc.string(),
    fc
      .array(
        fc.constantFrom(
          '*',
          '0',
          '61',
          '1-99',
          '*/0',
          'L',
          '5L',
          '1#6',
          'H',
          'MON',
          '?',
          'x',
          '-1',
          '1,,2',
          '*/',
        ),
        {
          minLength: 1,
          maxLength: 7,
        },
      )
      .map((parts) => parts.join(' ')),
  );

  test('random specs raise ScheduleSpecError and nothing else', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.oneof(fc.constantFrom('crontab', 'interval', 'solar', 'clocked'), junk),
          cron: fc.oneof(cronish, junk, fc.record({ minute: junk, hour: junk, dayOfWeek: junk })),
          timezone: fc.oneof(fc.constantFrom('UTC', 'Europe/Berlin', 'Mars/Base', '+02:00', ''), junk),
          every: fc.oneof(junk, fc.constantFrom('15m', '0s', '1h30m', '10', 'abc', '-5m')),
          anchor: junk,
          event: fc.oneof(fc.constantFrom('sunrise', 'moonrise'), junk),
          latitude: fc.oneof(fc.double(), junk),
          longitude: fc.oneof(fc.double(), junk),
          runAt: fc.oneof(junk, fc.constantFrom('2026-01-01T00:00:00Z', '2026-01-01', 'tomorrow')),
        }),
        fc.option(fc.string(), { nil: undefined }),
        (spec, name) => {
          try {
            const schedule = compileSchedule(spec, { name });
            schedule.next(Date.UTC(2026, 0, 1));
          } catch (error) {
            assert.ok(
              error instanceof ScheduleSpecError,
              `threw ${String(error)} for ${JSON.stringify(spec)}`,
            );
            assert.ok(error.field.length > 0 && error.message.includes('Allowed:'));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
