/**
 * What a careless or hostile operator types: schedules that could never fire, names with newlines
 * and terminal escapes, values the database cannot store. Each is refused at the entry point (beat
 * add, declarations, SQL) with one clear line and exit 2, nothing written; and whatever is already
 * in the table is printed escaped, so it cannot forge table rows or colour the terminal.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadDeclarations } from '../../src/declare/load.ts';
import { validateDeclarations } from '../../src/declare/sync.ts';
import { beat } from '../support/cli.ts';
import { declarationDir } from '../support/declarations.ts';
import { dropScheduleChecks } from '../support/hostile.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let env: Record<string, string>;

before(async () => {
  pg = await createTestDatabase();
  env = { DATABASE_URL: pg.url };
  const migrate = await beat(['migrate'], env);
  assert.equal(migrate.code, 0, migrate.stderr);
});
after(async () => {
  await pg?.drop();
});

const run = (...args: string[]) => beat(args, env);
const count = async () =>
  Number((await pg.sql<{ n: number }[]>`select count(*)::int as n from metronome.schedules`)[0]?.n);

/** A refusal: exit 2, no stack trace, no SQL, and the message mentions `expected`. */
function assertRefused(result: { code: number; stderr: string }, expected: RegExp): void {
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, expected);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  assert.doesNotMatch(result.stderr, /insert into|Failed query|params:/i, 'no SQL');
}

test('beat add refuses schedules that can never fire', async () => {
  const before = await count();
  assertRefused(await run('add', 'past.once', '--task', 't', '--at', '2020-01-01T00:00:00Z'), /--at.*past/);
  assertRefused(
    await run('add', 'jitter.huge', '--task', 't', '--every', '1m', '--jitter', '1000000d'),
    /--jitter/,
  );
  assertRefused(
    await run('add', 'jitter.period', '--task', 't', '--every', '1m', '--jitter', '1m'),
    /--jitter.*shorter than/,
  );
  assertRefused(
    await run('add', 'ended', '--task', 't', '--every', '1m', '--end-at', '2020-01-01T00:00:00Z'),
    /--end-at/,
  );
  assert.equal(await count(), before, 'nothing written');
});

test('beat add refuses values out of range instead of passing a database error on', async () => {
  const before = await count();
  assertRefused(
    await run('add', 'exp', '--task', 't', '--every', '1m', '--expires', '1000000000d'),
    /--expires/,
  );
  assertRefused(await run('add', 'runs', '--task', 't', '--every', '1m', '--max-runs', '1e10'), /--max-runs/);
  assertRefused(
    await run('add', 'window', '--task', 't', '--every', '1m', '--catchup-window', '1000000000d'),
    /--catchup-window/,
  );
  assertRefused(
    await run('add', 'lease', '--task', 't', '--every', '1m', '--run-lease', '1000000000d'),
    /--run-lease/,
  );
  assertRefused(
    await run('add', 'nul', '--task', 't', '--every', '1m', '--kwargs', '{"a": "x\\u0000y"}'),
    /kwargs/,
  );
  assertRefused(
    await run('add', 'nulkey', '--task', 't', '--every', '1m', '--kwargs', '{"a\\u0000": 1}'),
    /kwargs/,
  );
  assert.equal(await count(), before, 'nothing written');
});

test('names, task names and queues must be printable: beat add, declarations and SQL refuse control characters', async () => {
  const before = await count();
  assertRefused(await run('add', 'evil\nrow', '--task', 't', '--every', '1m'), /NAME: .*control character/);
  assertRefused(await run('add', 'evil.task', '--task', 't\u001b[31m', '--every', '1m'), /--task/);
  assertRefused(
    await run('add', 'evil.queue', '--task', 't', '--every', '1m', '--queue', 'q\u0085'),
    /--queue/,
  );
  assertRefused(
    await run('add', 'evil.bidi', '--task', 't', '--every', '1m', '--queue', 'q\u202eeuq'),
    /--queue/,
  );
  assert.equal(await count(), before, 'nothing written');

  const decl = declarationDir();
  try {
    decl.write(
      'evil.ts',
      `import { defineSchedule, every } from 'metronome';
export const a = defineSchedule({ name: 'evil\\nname', task: 't', schedule: every('1m') });
export const b = defineSchedule({ name: 'evil.task', task: 'tasks.\\u001b[2J', schedule: every('1m') });`,
    );
    const { found } = await loadDeclarations(decl.rel);
    const { problems } = validateDeclarations(found, Date.now());
    assert.deepEqual(
      problems.map((p) => p.field),
      ['name', 'task'],
    );
  } finally {
    decl.cleanup();
  }

  for (const [column, value] of <Array<[string, string]>>[
    ['name', 'evil\nrow'],
    ['task', 'x\u001b[31m'],
    ['queue', 'q\u009b'],
    ['routing_key', 'r\u2028'],
  ]) {
    await assert.rejects(
      pg.sql.unsafe(
        `insert into metronome.schedules (name, task, kind, every_ms, ${column === 'name' || column === 'task' ? '' : `${column}, `}managed_by)
         values ($1, $2, 'interval', 60000, ${column === 'name' || column === 'task' ? '' : '$3, '}'db')`,
        column === 'name'
          ? [value, 't']
          : column === 'task'
            ? ['sql.task', value]
            : [`sql.${column}`, 't', value],
      ),
      (error: { constraint_name?: string }) => /printable/.test(error.constraint_name ?? ''),
      `SQL refuses ${column} ${JSON.stringify(value)}`,
    );
  }
});

test('the SQL CHECK constraints refuse infinite timestamps', async () => {
  for (const column of ['start_at', 'end_at', 'anchor_at', 'next_fire_at', 'last_fire_at', 'paused_at']) {
    await assert.rejects(
      pg.sql.unsafe(
        `insert into metronome.schedules (name, task, kind, every_ms, ${column}) values ($1, 't', 'interval', 60000, '-infinity')`,
        [`inf.${column}`],
      ),
      (error: { constraint_name?: string }) => /finite/.test(error.constraint_name ?? ''),
      column,
    );
  }
  await assert.rejects(
    pg.sql`insert into metronome.schedules (name, task, kind, run_at) values ('inf.run_at', 't', 'clocked', 'infinity')`,
    (error: { constraint_name?: string }) => /finite/.test(error.constraint_name ?? ''),
  );
});

test('beat list, show and history escape what the table already holds', async () => {
  await dropScheduleChecks(pg.sql);
  const forged = 'evil\nforged.row  interval  every 1m  enabled';
  const red = '\u001b[31mred\u001b[0m';
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, description)
               values (${forged}, ${red}, 'interval', 60000, ${'line\u2028break\u202e'})`;
  await pg.sql`insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, error)
               select id, name, now(), now(), 'escape-task', 'failed', ${'boom\n\u001b[2Jcleared'} from metronome.schedules
               where name = ${forged}`;
  const list = await run('list');
  assert.equal(list.code, 0, list.stderr);
  assert.ok(!list.stdout.includes('\u001b'), 'no escape sequence reaches the terminal');
  assert.ok(!list.stdout.split('\n').some((l) => l.startsWith('forged.row')), 'no forged table row');
  assert.ok(list.stdout.includes('evil\\nforged.row'), list.stdout);
  for (const args of [
    ['show', forged],
    ['history', forged],
  ]) {
    const out = await run(...args);
    assert.equal(out.code, 0, out.stderr);
    for (const bad of ['\u001b', '\u2028', '\u202e', '\nforged', '\ncleared'])
      assert.ok(!out.stdout.includes(bad), `${args[0]} escapes ${JSON.stringify(bad)}`);
  }
  const json = await run('list', '--json');
  assert.equal(json.code, 0, json.stderr);
  assert.ok(!json.stdout.includes('\u2028') && !json.stdout.includes('\u202e'), 'JSON escapes them too');
  assert.equal(JSON.parse(json.stdout).find((s: { name: string }) => s.name === forged)?.task, red);
});

test('sync refuses a new one-off in the past, but keeps one that already ran', async () => {
  const decl = declarationDir();
  try {
    decl.write(
      'once.ts',
      `import { at, defineSchedule } from 'metronome';
export const once = defineSchedule({ name: 'sync.past', task: 't', schedule: at('2020-01-01T00:00:00Z') });`,
    );
    const refused = await run('sync', '--dir', decl.rel);
    assertRefused(refused, /sync\.past.*schedule\.runAt.*past/);
    assert.equal(
      (await pg.sql`select 1 from metronome.schedules where name = 'sync.past'`).length,
      0,
      'nothing written',
    );
    // Declared when it was still ahead, ran, and is still declared: sync leaves it alone.
    await pg.sql`insert into metronome.schedules (name, task, kind, run_at, managed_by, source, total_runs, last_fire_at)
                 values ('sync.past', 't', 'clocked', '2020-01-01T00:00:00Z', 'code', ${`${decl.rel}/once.ts`}, 1, '2020-01-01T00:00:00Z')`;
    const kept = await run('sync', '--dir', decl.rel);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stdout, /unchanged\s+sync\.past/);
  } finally {
    decl.cleanup();
  }
});

test('a value the database cannot store is one line naming the reason, not SQL and a stack', async () => {
  const added = await run('add', 'nul.reason', '--task', 't', '--every', '1m');
  assert.equal(added.code, 0, added.stderr);
  const paused = await run('pause', 'nul.reason', '--reason', 'disk\u0000full');
  // Refused before it reaches the database (a reason is printable text): one line all the same.
  assertRefused(paused, /the pause reason .*U\+0000/);
  assert.equal(paused.stderr.trim().split('\n').length, 1, paused.stderr);
});

test('beat add stores the numbers of --args, --kwargs and --headers as written', async () => {
  const added = await run(
    'add',
    'exact.add',
    '--task',
    't',
    '--every',
    '1m',
    '--args',
    '[12345678901234567890, 1.0, 0.000001]',
    '--kwargs',
    '{"n": 9223372036854775808}',
    '--json',
  );
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /"args": \[\s*12345678901234567890,\s*1\.0,\s*0\.000001\s*\]/);
  const [row] = await pg.sql<{ args: string; kwargs: string }[]>`
    select args::text as args, kwargs::text as kwargs from metronome.schedules where name = 'exact.add'`;
  assert.equal(row?.args, '[12345678901234567890, 1.0, 0.000001]');
  assert.equal(row?.kwargs, '{"n": 9223372036854775808}');
});
