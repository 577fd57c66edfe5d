/**
 * A property test of DESIGN's "bad input never stops the beat": random rows — random values in
 * every column, infinities, huge numbers, control characters, exact numbers — inserted into the
 * table of a running beat (its CHECK constraints dropped, as after a restore without them). Each
 * row is either valid, or has exactly one column made bad; then every bad row must be quarantined
 * with a reason naming that column, every valid row must be scheduled, and a healthy 1 s schedule
 * must keep firing on time throughout. `FC_SEED=n` replays a failing run; `FC_RUNS=n` runs more
 * (100 by default, about 600 rows).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ExactNumber, stringifyJson } from '../../src/model/json.ts';
import { SOLAR_EVENTS } from '../../src/time/index.ts';
import { eventually, sleep } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { createUncheckedDatabase, insertLiteralRows, raw } from '../support/hostile.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import type { TestDatabase } from '../support/pg.ts';

const GRACE_MS = 1_000;
const DAY = 86_400_000;

let db: TestDatabase;
let running: InProcessBeat;
const transport = new ControlledTransport();

before(async () => {
  db = await createUncheckedDatabase();
  running = await startInProcessBeat(db.url, transport, { graceMs: GRACE_MS });
});
after(async () => {
  await running?.stop();
  await db?.drop();
});

type Columns = Record<string, unknown>;
/** A generated row: its columns, and the one column made bad (null: a valid row). */
interface Candidate {
  columns: Columns;
  bad: string | null;
}

// ----- values -----

const CONTROL = [
  '\u0001',
  '\n',
  '\r',
  '\t',
  '\u001b[31m',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u2028',
  '\u202e',
  '\u2066',
];
const slug = fc.stringMatching(/^[a-z][a-z0-9._-]{0,15}$/);
const withControl = fc.tuple(slug, fc.constantFrom(...CONTROL), slug).map(([a, c, b]) => `${a}${c}${b}`);
const iso = (ms: number) => new Date(ms).toISOString();
const future = (fromMs: number, toMs: number) =>
  fc.integer({ min: fromMs, max: toMs }).map((d) => iso(Date.now() + d));
const badInstant = fc.constantFrom(
  'infinity',
  '-infinity',
  '10000-01-01T00:00:00Z',
  '200000-06-01T00:00:00Z',
  '0044-03-15 00:00:00+00 BC',
);
const hugeBigint = fc.constantFrom('9000000000000000000', '9223372036854775807', '3162240000001');
/** JSON with numbers a double cannot hold, as the text jsonb stores. */
const exactNumber = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => new ExactNumber(n.toString())),
  fc
    .tuple(fc.integer({ min: -99999, max: 99999 }), fc.stringMatching(/^[0-9]{1,6}$/))
    .map(([i, f]) => new ExactNumber(`${i}.${f}`)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);
/** Any text Postgres can store (well-formed, no NUL), control characters included. */
const anyText = (maxLength = 12) =>
  fc
    .string({ unit: 'binary', maxLength })
    .filter(
      (s) =>
        !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')) && !s.includes('\u0000'),
    );
const jsonLeaf = fc.oneof(anyText(), exactNumber, fc.boolean(), fc.constant(null));
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, jsonLeaf, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(anyText(8), tie('value'), { maxKeys: 4 }),
})).value;
const jsonb = (arb: fc.Arbitrary<unknown>) =>
  arb.map((v) => raw(`'${stringifyJson(v).replaceAll("'", "''")}'::jsonb`));

// ----- rows -----

/** A valid spec: its columns, with the interval's period when it has one. */
const validSpec = fc.oneof(
  fc.record({
    kind: fc.constant('interval'),
    every_ms: fc.integer({ min: 60_000, max: DAY }),
    anchor_at: fc.option(future(-DAY * 400, 0), { nil: null }),
  }),
  fc.record({
    kind: fc.constant('crontab'),
    cron: fc.constantFrom('0 * * * *', '*/5 * * * *', '30 2 * * *', '0 0 1 * *'),
    timezone: fc.constantFrom(
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
    ),
  }),
  fc.record({
    kind: fc.constant('solar'),
    solar_event: fc.constantFrom(...SOLAR_EVENTS),
    latitude: fc.double({ min: -55, max: 55, noNaN: true }),
    longitude: fc.double({ min: -180, max: 180, noNaN: true }),
  }),
  fc.record({ kind: fc.constant('clocked'), run_at: future(3_600_000, 365 * DAY) }),
);

const validColumns = fc.record({
  task: slug,
  queue: fc.option(slug, { nil: null }),
  routing_key: fc.option(slug, { nil: null }),
  args: jsonb(fc.array(json, { maxLength: 4 })),
  kwargs: jsonb(fc.dictionary(anyText(8), json, { maxKeys: 4 })),
  headers: jsonb(fc.dictionary(slug, json, { maxKeys: 3 })),
  priority: fc.option(fc.integer({ min: 0, max: 9 }), { nil: null }),
  expires_ms: fc.option(fc.integer({ min: 1, max: DAY }), { nil: null }),
  enabled: fc.boolean(),
  start_at: fc.option(future(-DAY * 30, 0), { nil: null }),
  end_at: fc.option(future(DAY * 400, DAY * 800), { nil: null }),
  max_runs: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: null }),
  overlap: fc.constantFrom('skip', 'allow', 'buffer_one'),
  catchup: fc.constantFrom('latest', 'skip', 'all'),
  catchup_window_ms: fc.integer({ min: 0, max: DAY }),
  jitter_ms: fc.integer({ min: 0, max: 30_000 }),
  run_lease_ms: fc.option(fc.integer({ min: 1_000, max: DAY }), { nil: null }),
  description: fc.option(anyText(40), { nil: null }),
});

/** Ways to make exactly one column bad: the column, and the bad value (given the valid row). */
const corruptions: Array<[string, (row: Columns) => fc.Arbitrary<unknown>]> = [
  ['name', () => withControl],
  ['task', () => fc.oneof(withControl, fc.constantFrom('   ', ''))],
  ['queue', () => withControl],
  ['routing_key', () => withControl],
  ['kind', () => fc.constantFrom('weekly', 'cron', '', 'Interval')],
  [
    'args',
    () =>
      fc.constantFrom(
        raw(`'{"a": 1}'::jsonb`),
        raw(`'"x"'::jsonb`),
        raw(`('[1' || repeat('0', 4400) || ']')::jsonb`),
      ),
  ],
  ['kwargs', () => fc.constantFrom(raw(`'[1, 2]'::jsonb`), raw(`'null'::jsonb`), raw(`'7'::jsonb`))],
  ['headers', () => fc.constantFrom(raw(`'[]'::jsonb`), raw(`'"h"'::jsonb`))],
  [
    'priority',
    () => fc.oneof(fc.integer({ min: 10, max: 2_147_483_647 }), fc.integer({ min: -2_147_483_648, max: -1 })),
  ],
  ['expires_ms', () => fc.oneof(fc.integer({ max: 0 }), hugeBigint)],
  ['time_limit_s', () => fc.integer({ min: -2_147_483_648, max: 0 })],
  ['soft_time_limit_s', () => fc.integer({ min: -100, max: 0 })],
  ['start_at', () => badInstant],
  ['end_at', () => badInstant],
  ['max_runs', () => fc.integer({ min: -2_147_483_648, max: 0 })],
  ['total_runs', () => fc.integer({ min: -2_147_483_648, max: -1 })],
  ['overlap', () => fc.constantFrom('never', 'SKIP', '')],
  ['catchup', () => fc.constantFrom('none', 'ALL', '')],
  ['catchup_window_ms', () => fc.oneof(fc.integer({ max: -1 }), hugeBigint)],
  [
    'jitter_ms',
    (row) =>
      row.kind === 'interval'
        ? fc.oneof(fc.constant(row.every_ms), hugeBigint, fc.constant(-1))
        : fc.oneof(hugeBigint, fc.constant(-1)),
  ],
  ['run_lease_ms', () => fc.oneof(fc.integer({ min: -1000, max: 999 }), hugeBigint)],
  ['next_fire_at', () => badInstant],
  ['last_fire_at', () => badInstant],
  ['paused_at', () => badInstant],
  [
    'version',
    () =>
      fc.oneof(
        fc.integer({ min: -1000, max: 0 }),
        fc.constantFrom('9007199254740992', '9000000000000000000'),
      ),
  ],
];
/** Bad values of the spec's own columns, by kind. */
const specCorruptions: Record<string, Array<[string, fc.Arbitrary<unknown>]>> = {
  interval: [
    ['every_ms', fc.oneof(fc.integer({ min: -1000, max: 999 }), hugeBigint)],
    ['anchor_at', badInstant],
  ],
  crontab: [
    ['cron', fc.constantFrom('x y z', '61 * * * *', '0 0 30 2 *', '* * *', '0 0 * * * * *')],
    ['timezone', fc.oneof(fc.constantFrom('Mars/Olympus', 'Europe/Berln', ''), withControl)],
  ],
  solar: [
    [
      'latitude',
      fc.oneof(
        fc.constantFrom(raw("'NaN'::float8"), raw("'Infinity'::float8")),
        fc.double({ min: 90.001, max: 1e308, noNaN: true }),
      ),
    ],
    [
      'longitude',
      fc.oneof(fc.constant(raw("'-Infinity'::float8")), fc.double({ min: 180.001, max: 1e308, noNaN: true })),
    ],
    ['solar_event', fc.constantFrom('moonrise', 'SUNSET', '')],
  ],
  clocked: [['run_at', fc.oneof(badInstant, future(-DAY * 3650, -60_000))]],
};

/** A valid row (a quarter of them), or one with exactly one column made bad. */
const candidate: fc.Arbitrary<Candidate> = fc
  .tuple(validSpec, validColumns, fc.integer({ min: 0, max: 3 }), fc.nat())
  .chain(([spec, columns, kindOfRow, pick]): fc.Arbitrary<Candidate> => {
    const row: Columns = { ...columns, ...spec };
    if (kindOfRow === 0) return fc.constant({ columns: row, bad: null });
    const ways: Array<[string, fc.Arbitrary<unknown>]> = [
      ...corruptions.map(([column, bad]): [string, fc.Arbitrary<unknown>] => [column, bad(row)]),
      ...(specCorruptions[spec.kind] ?? []),
    ];
    const [column, bad] = ways[pick % ways.length] as [string, fc.Arbitrary<unknown>];
    return bad.map((value) => {
      const broken: Columns = { ...row, [column]: value };
      // The time limits are judged together: keep the other one valid.
      if (column === 'soft_time_limit_s') broken.time_limit_s = 10;
      if (column === 'time_limit_s') broken.soft_time_limit_s = null;
      return { columns: broken, bad: column };
    });
  });

// ----- the property -----

let batch = 0;

test('random rows: every bad one quarantined naming its column, the valid ones scheduled, the beat on time', async (t) => {
  await eventually('leadership', 10_000, () => running.beat.leading);
  await db.sql`insert into metronome.schedules (name, task, kind, every_ms, overlap, managed_by)
               values ('pulse', 'tasks.pulse', 'interval', 1000, 'allow', 'db')`;
  await eventually('pulse fires', 5_000, () => transport.of('pulse').length >= 2);
  const startedAt = Date.now();
  let rows = 0;
  await assertProperty(
    fc.asyncProperty(fc.array(candidate, { minLength: 1, maxLength: 12 }), async (candidates) => {
      batch++;
      const named = candidates.map((c, i) => {
        const name = c.bad === 'name' ? `${c.columns.name}.${batch}.${i}` : `prop.${batch}.${i}`;
        return { ...c, name, columns: { ...c.columns, name, managed_by: 'db' } };
      });
      await insertLiteralRows(db.sql, named.map((c) => c.columns).map(literalColumns));
      rows += named.length;
      const names = named.map((c) => c.name);
      const judged = await eventually('every row judged', 10_000, async () => {
        const found = await db.sql<{ name: string; invalid_reason: string | null; next: boolean }[]>`
          select name, invalid_reason, next_fire_at is not null as next from metronome.schedules
          where name = any(${names})`;
        // A bad row is judged once quarantined (its bad next_fire_at may be set already); a valid
        // one once scheduled (or wrongly quarantined, which the assertions below report).
        const bad = new Set(named.filter((c) => c.bad !== null).map((c) => c.name));
        const done = found.filter((r) => r.invalid_reason !== null || (r.next && !bad.has(r.name)));
        return done.length === names.length ? found : undefined;
      });
      const byName = new Map(judged.map((r) => [r.name, r]));
      for (const c of named) {
        const row = byName.get(c.name);
        if (c.bad === null) {
          assert.equal(
            row?.invalid_reason,
            null,
            `${JSON.stringify(c.name)} is valid: ${row?.invalid_reason}`,
          );
        } else {
          assert.match(
            row?.invalid_reason ?? '(not quarantined)',
            new RegExp(`^column ${c.bad}[.:]`),
            `${JSON.stringify(c.name)}, bad ${c.bad} = ${stringifyJson((c.columns as Columns)[c.bad])}: ${row?.invalid_reason ?? 'not quarantined'}`,
          );
        }
      }
    }),
    {
      numRuns: Number(process.env.FC_RUNS ?? 100),
      seed: process.env.FC_SEED ? Number(process.env.FC_SEED) : undefined,
      // Each run inserts rows into a live beat: no shrinking (it would re-run this for minutes);
      // the failing rows are reported as they were, with the seed to replay them.
      endOnFailure: true,
    },
  );
  await sleep(1_500);
  const endedAt = Date.now();
  const slots = await db.sql<{ status: string }[]>`
    select status from metronome.occurrences where schedule_name = 'pulse'
      and scheduled_for between ${new Date(startedAt)} and ${new Date(endedAt - GRACE_MS)}`;
  assert.ok(slots.length >= Math.floor((endedAt - startedAt) / 1_000) - 2, `${slots.length} pulse slots`);
  assert.deepEqual(
    slots.filter((s) => s.status === 'missed'),
    [],
    'no pulse slot missed',
  );
  const lags = transport
    .of('pulse')
    .filter((e) => e.scheduledFor >= startedAt)
    .map((e) => e.at - e.fireAt);
  const worst = Math.max(...lags);
  t.diagnostic(
    `${rows} random rows in ${endedAt - startedAt} ms; pulse fired ${lags.length} times, worst lag ${worst} ms`,
  );
  assert.ok(worst < GRACE_MS, `pulse on time: worst lag ${worst} ms`);
  assert.equal(running.beat.readiness().ready, true, JSON.stringify(running.beat.readiness()));
  const [lease] = await db.sql<{ epoch: string }[]>`select epoch from metronome.leader`;
  assert.equal(Number(lease?.epoch), 1, 'never lost leadership');
});

/** fc.assert, with the property's own failure in the message (node:test shows only the message). */
async function assertProperty<T>(property: fc.IAsyncProperty<T>, params: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, params);
  if (!details.failed) return;
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`${cause}\n${fc.defaultReportMessage(details) ?? ''}`);
}

/** Columns as insertLiteralRows takes them: raw SQL stays raw, every other value a literal. */
function literalColumns(columns: Columns): Columns {
  return Object.fromEntries(
    Object.entries(columns).map(([k, v]) => [k, typeof v === 'number' ? raw(numberLiteral(v)) : v]),
  );
}

function numberLiteral(n: number): string {
  if (Number.isNaN(n)) return "'NaN'::float8";
  if (!Number.isFinite(n)) return n > 0 ? "'Infinity'::float8" : "'-Infinity'::float8";
  return Number.isInteger(n) ? String(n) : `${n}::float8`;
}
