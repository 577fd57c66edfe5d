/**
 * Calendars declared in schedules/*.ts (defineCalendar) and synced like schedules: created
 * code-owned with the schedules that name them, in one transaction; a schedule naming a calendar
 * that exists nowhere fails sync naming the file, the schedule and the field; a database-owned
 * calendar is used but never touched; --prune refuses to delete a calendar still named.
 * "The last business day of the month" declared end to end.
 */
import assert from 'node:assert/strict';
import { after, beforeEach, test } from 'node:test';
import { upsertCalendar } from '../../src/db/sql/calendars.ts';
import { formatProblem, loadDeclarations } from '../../src/declare/load.ts';
import { SyncProblemsError, syncDeclarations, validateDeclarations } from '../../src/declare/sync.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const file = migratedDatabasePerFile();
let decl: DeclarationDir;

beforeEach(async () => {
  decl?.cleanup();
  decl = declarationDir();
  await file.db
    .sql`truncate metronome.schedules, metronome.occurrences, metronome.audit_log, metronome.calendars cascade`;
});
after(() => decl?.cleanup());

const CLOSE = `
import { crontab, defineCalendar, defineSchedule } from 'metronome';
export const weekends = defineCalendar({ name: 'weekends', weekdays: ['sat', 'sun'] });
export const holidays = defineCalendar({
  name: 'holidays-de',
  days: ['2026-12-31', { from: '2027-04-30', to: '2027-04-30', label: 'Bridge day' }],
});
export const close = defineSchedule({
  name: 'books.close',
  task: 'books.close',
  schedule: crontab('0 9 L * *', { tz: 'Europe/Berlin' }),
  calendars: [weekends, 'holidays-de'],
  onExcluded: 'previous',
});
`;

async function load() {
  const { found, calendars, problems } = await loadDeclarations(decl.rel);
  const validated = validateDeclarations(found, Date.UTC(2026, 11, 1), calendars);
  return { ...validated, problems: [...problems, ...validated.problems] };
}

async function sync(options: { prune?: boolean; dryRun?: boolean } = {}) {
  const { valid, calendars, problems } = await load();
  assert.deepEqual(problems, []);
  return syncDeclarations(file.database, valid, { actor: cliActor(), calendars, ...options });
}

test('a declared calendar and the schedule naming it are created together, code-owned', async () => {
  decl.write('close.ts', CLOSE);
  const first = await sync();
  assert.deepEqual(
    first.calendars.map((c) => [c.action, c.name]),
    [
      ['create', 'holidays-de'],
      ['create', 'weekends'],
    ],
  );
  const calendars = await file.db.sql`
    select c.name, c.managed_by, c.source, c.weekdays, count(d.first_day)::int as days
      from metronome.calendars c left join metronome.calendar_days d on d.calendar = c.name
     group by c.name order by c.name`;
  assert.deepEqual(
    calendars.map((c) => [c.name, c.managed_by, c.source, c.weekdays, c.days]),
    [
      ['holidays-de', 'code', `${decl.rel}/close.ts`, [], 2],
      ['weekends', 'code', `${decl.rel}/close.ts`, [0, 6], 0],
    ],
  );
  const [row] = await file.db.sql`
    select calendars, on_excluded, next_fire_at from metronome.schedules where name = 'books.close'`;
  assert.deepEqual(row?.calendars, ['weekends', 'holidays-de']);
  assert.equal(row?.on_excluded, 'previous');
  // Its next fire is a weekday at 09:00 in Berlin, the last one of its month that is not a holiday.
  const next = row?.next_fire_at as Date;
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
  }).format(next);
  assert.match(local, /^(Mon|Tue|Wed|Thu|Fri) 09:00$/, next.toISOString());
  const second = await sync();
  assert.deepEqual(
    second.calendars.map((c) => c.action),
    ['unchanged', 'unchanged'],
  );
  assert.deepEqual(
    second.plan.map((p) => p.action),
    ['unchanged'],
  );
});

test('a schedule naming a calendar that exists nowhere fails sync naming the file, the schedule and the field', async () => {
  decl.write(
    'ghost.ts',
    `import { defineSchedule, every } from 'metronome';
export const s = defineSchedule({ name: 'ghostly', task: 't', schedule: every('1h'), calendars: ['ghost'] });
`,
  );
  const { valid, calendars, problems } = await load();
  assert.deepEqual(problems, []);
  await assert.rejects(
    syncDeclarations(file.database, valid, { actor: cliActor(), calendars }),
    (error: unknown) => {
      assert.ok(error instanceof SyncProblemsError);
      const [problem] = error.problems;
      assert.equal(error.problems.length, 1);
      assert.match(
        formatProblem(problem!),
        new RegExp(
          `^${decl.rel}/ghost\\.ts: schedule "ghostly": calendars: calendars\\[0\\] "ghost" is invalid: no calendar has this name`,
        ),
      );
      return true;
    },
  );
  assert.equal((await file.db.sql`select count(*)::int as n from metronome.schedules`)[0]?.n, 0);
  // A calendar kept in the database is found, and never touched by sync.
  await upsertCalendar(file.database.db, 'ghost', {
    weekdays: [3],
    description: null,
    managedBy: 'db',
    source: null,
  });
  const result = await syncDeclarations(file.database, valid, { actor: cliActor(), calendars, prune: true });
  assert.deepEqual(result.calendars, []);
  assert.deepEqual(
    result.plan.map((p) => p.action),
    ['create'],
  );
});

test('a calendar no longer declared is kept; --prune refuses while a schedule still names it', async () => {
  decl.write('close.ts', CLOSE);
  await sync();
  decl.write(
    'close.ts',
    CLOSE.replace(
      "  days: ['2026-12-31', { from: '2027-04-30', to: '2027-04-30', label: 'Bridge day' }],\n",
      "  days: ['2026-12-31'],\n",
    ),
  );
  const updated = await sync({ dryRun: true });
  assert.deepEqual(
    updated.calendars.map((c) => [c.action, c.name, c.action === 'update' ? c.changed : []]),
    [
      ['update', 'holidays-de', ['days']],
      ['unchanged', 'weekends', []],
    ],
  );
  decl.write(
    'close.ts',
    `import { defineSchedule, every } from 'metronome';
export const close = defineSchedule({ name: 'books.close', task: 'books.close', schedule: every('1h'), calendars: ['holidays-de'] });
`,
  );
  const orphaned = await sync({ dryRun: true });
  assert.deepEqual(
    orphaned.calendars.map((c) => [c.action, c.name]),
    [
      ['orphan', 'holidays-de'],
      ['orphan', 'weekends'],
    ],
  );
  const { valid, calendars } = await load();
  await assert.rejects(
    syncDeclarations(file.database, valid, { actor: cliActor(), calendars, prune: true }),
    (error: unknown) =>
      error instanceof SyncProblemsError &&
      error.problems.length === 1 &&
      /--prune would delete it, but "books\.close" still names it/.test(formatProblem(error.problems[0]!)),
  );
});

test('beat sync --dry-run marks a fire a calendar moved', async () => {
  // Only Wednesdays allowed: of the next five month ends, at least four move.
  decl.write(
    'wednesday.ts',
    `import { crontab, defineCalendar, defineSchedule } from 'metronome';
export const w = defineCalendar({ name: 'not-wednesday', weekdays: [0, 1, 2, 4, 5, 6] });
export const s = defineSchedule({ name: 'month.end', task: 't', schedule: crontab('0 9 L * *', { tz: 'UTC' }), calendars: [w], onExcluded: 'next' });
`,
  );
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run'], { DATABASE_URL: file.db.url });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /create\s+calendar not-wednesday/);
  assert.match(dry.stdout, /create\s+month\.end/);
  assert.match(dry.stdout, /moved from \d{4}-\d\d-\d\d 09:00 \(calendar "not-wednesday"\)/);
});

test('beat sync --dry-run previews the schedules a changed calendar touches, though their declarations are unchanged', async () => {
  decl.write('close.ts', CLOSE);
  assert.equal((await beat(['sync', '--dir', decl.rel], { DATABASE_URL: file.db.url })).code, 0);
  // Every day of the next two months becomes a holiday.
  const today = Date.now();
  const day = (n: number) => new Date(today + n * 86_400_000).toISOString().slice(0, 10);
  decl.write(
    'close.ts',
    CLOSE.replace(
      "days: ['2026-12-31', { from: '2027-04-30', to: '2027-04-30', label: 'Bridge day' }],",
      `days: [{ from: '${day(0)}', to: '${day(62)}', label: 'Closed' }],`,
    ),
  );
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run'], { DATABASE_URL: file.db.url });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /update\s+calendar holidays-de\s+\(.*\): days/);
  assert.match(dry.stdout, /unchanged\s+books\.close\n\s+\s+UTC/);
  // Its fires change: the two closed months have no fire left (a month end moves back into the past).
  assert.match(dry.stdout, /\n\s+after\s+\d{4}-/);
  assert.match(dry.stdout, /at once if applied now: nothing runs \(when it fires changes/);
});
