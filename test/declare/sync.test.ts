import assert from 'node:assert/strict';
import { after, beforeEach, test } from 'node:test';
import { openDatabase } from '../../src/db/database.ts';
import { loadDeclarations } from '../../src/declare/load.ts';
import { type PlanEntry, syncDeclarations, validateDeclarations } from '../../src/declare/sync.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { assertCliActor, auditRows } from '../support/audit.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';
import { one } from '../support/pg.ts';

const file = migratedDatabasePerFile();
let decl: DeclarationDir;

beforeEach(async () => {
  decl?.cleanup();
  decl = declarationDir();
  await file.db.sql`truncate metronome.schedules, metronome.occurrences, metronome.audit_log`;
});
after(() => decl?.cleanup());

const REPORTS = `
import { crontab, defineSchedule } from 'metronome';
export const nightly = defineSchedule({
  name: 'reports.nightly',
  task: 'reports.nightly',
  schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
  kwargs: { format: 'pdf' },
});
`;
const ADD = `
import { defineSchedule, every } from 'metronome';
export default defineSchedule({ name: 'tasks.add', task: 'tasks.add', schedule: every('30s'), args: [2, 3] });
`;

async function sync(options: { prune?: boolean; dryRun?: boolean } = {}) {
  const { found, problems } = await loadDeclarations(decl.rel);
  const { valid, problems: invalid } = validateDeclarations(found, Date.now());
  assert.deepEqual([...problems, ...invalid], []);
  return syncDeclarations(file.database, valid, { actor: cliActor(), ...options });
}

const actions = (plan: PlanEntry[]) => Object.fromEntries(plan.map((e) => [e.name, e.action]));

test('create, then unchanged; rows are code-owned with their source file and a next fire', async () => {
  decl.write('reports.ts', REPORTS);
  decl.write('add.ts', ADD);
  const first = await sync();
  assert.deepEqual(actions(first.plan), { 'reports.nightly': 'create', 'tasks.add': 'create' });
  const rows = await file.db
    .sql`select name, managed_by, source, next_fire_at, args from metronome.schedules order by name`;
  assert.deepEqual(
    rows.map((r) => [r.name, r.managed_by, r.source]),
    [
      ['reports.nightly', 'code', `${decl.rel}/reports.ts`],
      ['tasks.add', 'code', `${decl.rel}/add.ts`],
    ],
  );
  assert.ok(rows.every((r) => r.next_fire_at instanceof Date));
  assert.deepEqual(rows[1]!.args, [2, 3]);
  const second = await sync();
  assert.deepEqual(actions(second.plan), { 'reports.nightly': 'unchanged', 'tasks.add': 'unchanged' });
});

test('update lists exactly the changed fields; a timing change recomputes next_fire_at', async () => {
  decl.write('reports.ts', REPORTS);
  await sync();
  decl.write('reports.ts', REPORTS.replace("{ format: 'pdf' }", "{ format: 'csv' }").replace('30 2', '45 3'));
  const { plan } = await sync();
  const entry = plan.find((e) => e.name === 'reports.nightly');
  assert.ok(entry && entry.action === 'update');
  assert.deepEqual(entry.changes, [
    { field: 'cron', from: '30 2 * * *', to: '45 3 * * *' },
    { field: 'kwargs', from: { format: 'pdf' }, to: { format: 'csv' } },
  ]);
  const [row] = await file.db
    .sql`select next_fire_at, kwargs from metronome.schedules where name = 'reports.nightly'`;
  assert.deepEqual(row!.kwargs, { format: 'csv' });
  const local = new Intl.DateTimeFormat('en-GB', {
    timeZone: 'Europe/Berlin',
    hour: '2-digit',
    minute: '2-digit',
  });
  assert.equal(local.format(row!.next_fire_at), '03:45');
});

test('drift: a code-owned row edited with SQL shows as an update in --dry-run, and the next sync restores it', async () => {
  decl.write('reports.ts', REPORTS);
  await sync();
  await file.db
    .sql`update metronome.schedules set task = 'reports.hotfix', priority = 9 where name = 'reports.nightly'`;
  const dry = await sync({ dryRun: true });
  const entry = dry.plan[0];
  assert.ok(entry && entry.action === 'update');
  assert.deepEqual(entry.changes, [
    { field: 'task', from: 'reports.hotfix', to: 'reports.nightly' },
    { field: 'priority', from: 9, to: null },
  ]);
  let [row] = await file.db.sql`select task from metronome.schedules where name = 'reports.nightly'`;
  assert.equal(row!.task, 'reports.hotfix', 'dry run wrote nothing');
  await sync();
  [row] = await file.db.sql`select task, priority from metronome.schedules where name = 'reports.nightly'`;
  assert.deepEqual({ ...row }, { task: 'reports.nightly', priority: null });
});

test('sync never touches a pause (an operator action), even when it updates the row', async () => {
  decl.write('reports.ts', REPORTS);
  await sync();
  await file.db
    .sql`update metronome.schedules set paused_at = now(), paused_reason = 'incident 42' where name = 'reports.nightly'`;
  decl.write('reports.ts', REPORTS.replace("'pdf'", "'html'"));
  await sync();
  const [row] = await file.db
    .sql`select paused_at, paused_reason from metronome.schedules where name = 'reports.nightly'`;
  assert.ok(row!.paused_at instanceof Date);
  assert.equal(row!.paused_reason, 'incident 42');
});

test('a removed declaration is kept (orphan) without --prune, deleted with it; its history stays', async () => {
  decl.write('reports.ts', REPORTS);
  decl.write('add.ts', ADD);
  await sync();
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms) values ('ops.vacuum', 'ops.vacuum', 'interval', 3600000)`;
  await file.db.sql`
    insert into metronome.occurrences (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status)
    select id, name, now(), now(), 'add-1', 'succeeded' from metronome.schedules where name = 'tasks.add'`;
  decl.remove('add.ts');
  const kept = await sync();
  assert.equal(actions(kept.plan)['tasks.add'], 'orphan');
  const dry = await sync({ prune: true, dryRun: true });
  assert.equal(actions(dry.plan)['tasks.add'], 'prune');
  assert.equal((await file.db.sql`select 1 from metronome.schedules where name = 'tasks.add'`).length, 1);
  const pruned = await sync({ prune: true });
  assert.deepEqual(actions(pruned.plan), { 'reports.nightly': 'unchanged', 'tasks.add': 'prune' });
  const names = await file.db.sql`select name from metronome.schedules order by name`;
  // The database-owned row is never pruned.
  assert.deepEqual(
    names.map((r) => r.name),
    ['ops.vacuum', 'reports.nightly'],
  );
  const { n } = one(
    await file.db.sql`select count(*)::int as n from metronome.occurrences where schedule_name = 'tasks.add'`,
  );
  assert.equal(n, 1);
});

test('every schedule a sync creates, updates or prunes leaves an audit record naming who ran it', async () => {
  decl.write('reports.ts', REPORTS);
  decl.write('add.ts', ADD);
  await sync();
  await sync(); // unchanged: nothing recorded
  await sync({ prune: true, dryRun: true }); // a dry run records nothing
  decl.write('reports.ts', REPORTS.replace("{ format: 'pdf' }", "{ format: 'csv' }"));
  decl.remove('add.ts');
  await sync({ prune: true });
  // By schedule, each one's records oldest first (the sort is stable).
  const rows = (await auditRows(file.db)).sort((a, b) => a.schedule_name.localeCompare(b.schedule_name));
  assert.deepEqual(
    rows.map((r) => [r.schedule_name, r.action, r.detail.change, r.detail.file]),
    [
      ['reports.nightly', 'sync', 'create', `${decl.rel}/reports.ts`],
      ['reports.nightly', 'sync', 'update', `${decl.rel}/reports.ts`],
      ['tasks.add', 'sync', 'create', `${decl.rel}/add.ts`],
      ['tasks.add', 'sync', 'remove', `${decl.rel}/add.ts`],
    ],
    'one record per schedule written, none for an unchanged one or a dry run',
  );
  for (const row of rows) assertCliActor(row, `${row.schedule_name} ${row.detail.change}`);
  assert.deepEqual(rows[1]!.detail.changed, ['kwargs'], 'an update records the columns it changed');
  const [stored] = await file.db.sql`select version from metronome.schedules where name = 'reports.nightly'`;
  assert.equal(rows[1]!.detail.version, Number(stored!.version), 'an update records the version it left');
});

test('--dry-run on an empty database plans creates and writes nothing', async () => {
  decl.write('reports.ts', REPORTS);
  const dry = await sync({ dryRun: true });
  assert.deepEqual(actions(dry.plan), { 'reports.nightly': 'create' });
  const { n } = one(await file.db.sql`select count(*)::int as n from metronome.schedules`);
  assert.equal(n, 0);
});

test('the same name in two files is an error naming both files', async () => {
  decl.write('a.ts', REPORTS);
  decl.write('b.ts', REPORTS);
  const { problems } = await loadDeclarations(decl.rel);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.schedule, 'reports.nightly');
  assert.match(problems[0]!.reason, new RegExp(`${decl.rel}/a\\.ts and ${decl.rel}/b\\.ts`));
});

test('beat sync reports every problem in every file at once, exits 2 and writes nothing', async () => {
  decl.write('good.ts', ADD);
  decl.write(
    'bad.ts',
    `import { crontab, defineSchedule, every, solar } from 'metronome';
export const a = defineSchedule({ name: 'bad.tz', task: 't', schedule: crontab('0 3 * * *', { tz: 'Europe/Berln' }) });
export const b = defineSchedule({ name: 'bad.many', task: 't', schedule: solar('sunset', 200, 0), priority: 10, kwargs: [] as never });
export const c = [defineSchedule({ name: 'bad.every', task: 't', schedule: every('0s') })];
`,
  );
  decl.write('broken.ts', `import { nothing } from 'metronome';\nexport const x = nothing();\n`);
  decl.write('dup.ts', ADD);
  const run = await beat(['sync', '--dir', decl.rel], { DATABASE_URL: file.db.url });
  assert.equal(run.code, 2, run.stderr);
  const text = run.stderr;
  for (const expected of [
    `${decl.rel}/bad.ts: schedule "bad.tz": schedule.tz: `,
    `${decl.rel}/bad.ts: schedule "bad.many": schedule.latitude: `,
    `${decl.rel}/bad.ts: schedule "bad.many": priority: `,
    `${decl.rel}/bad.ts: schedule "bad.many": kwargs: `,
    `${decl.rel}/bad.ts: schedule "bad.every": schedule.every: `,
    `${decl.rel}/broken.ts: cannot load the file`,
    `schedule "tasks.add": name: declared 2 times`,
    'nothing was written',
  ]) {
    assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
  }
  const { n } = one(await file.db.sql`select count(*)::int as n from metronome.schedules`);
  assert.equal(n, 0);
});

test('declaring the name of a database-owned row is an error, and nothing else is written either', async () => {
  await file.db.sql`
    insert into metronome.schedules (name, task, kind, every_ms) values ('tasks.add', 'ops', 'interval', 60000)`;
  decl.write('reports.ts', REPORTS);
  decl.write('add.ts', ADD);
  const run = await beat(['sync', '--dir', decl.rel], { DATABASE_URL: file.db.url });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /schedule "tasks\.add": name: .*managed there \(managed_by = 'db'/);
  const names = await file.db.sql`select name, task from metronome.schedules`;
  assert.deepEqual(
    names.map((r) => [r.name, r.task]),
    [['tasks.add', 'ops']],
  );
});

test('two syncs at once: serialized by the advisory lock, no duplicate-key failure', async () => {
  decl.write('reports.ts', REPORTS);
  decl.write('add.ts', ADD);
  const other = await openDatabase({ databaseUrl: file.db.url, dataDir: '' });
  try {
    const { found } = await loadDeclarations(decl.rel);
    const { valid } = validateDeclarations(found, Date.now());
    const results = await Promise.all([
      syncDeclarations(file.database, valid, { actor: cliActor() }),
      syncDeclarations(other, valid, { actor: cliActor() }),
      syncDeclarations(file.database, valid, { actor: cliActor() }),
    ]);
    const creates = results.flatMap((r) => r.plan.filter((e) => e.action === 'create'));
    assert.equal(creates.length, 2, 'each schedule created exactly once');
    const { n } = one(await file.db.sql`select count(*)::int as n from metronome.schedules`);
    assert.equal(n, 2);
  } finally {
    await other.close();
  }
});

test('beat sync --dry-run --json prints the plan; beat sync then applies it', async () => {
  decl.write('reports.ts', REPORTS);
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run', '--json'], { DATABASE_URL: file.db.url });
  assert.equal(dry.code, 0, dry.stderr);
  const parsed = JSON.parse(dry.stdout);
  assert.equal(parsed.dryRun, true);
  assert.deepEqual(parsed.summary, { create: 1, update: 0, unchanged: 0, prune: 0, orphan: 0 });
  const run = await beat(['sync', '--dir', decl.rel], { DATABASE_URL: file.db.url });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /create\s+reports\.nightly/);
  assert.match(run.stdout, /1 created/);
});

test('beat sync --dry-run shows the fires of each touched schedule before and after, and what would run at once', async () => {
  decl.write('reports.ts', REPORTS);
  assert.equal((await beat(['sync', '--dir', decl.rel], { DATABASE_URL: file.db.url })).code, 0);
  decl.write(
    'reports.ts',
    REPORTS.replace("{ tz: 'Europe/Berlin' }", "{ tz: 'Europe/Berlin', dst: { repeated: 'both' } }"),
  );
  const dry = await beat(['sync', '--dir', decl.rel, '--dry-run'], { DATABASE_URL: file.db.url });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /update\s+reports\.nightly/);
  assert.match(dry.stdout, /dst_policy: null -> "repeated=both,missing=shift"/);
  assert.match(dry.stdout, /before\s+\d{4}-\d\d-\d\dT01:30:00\.000Z\s+\d{4}-\d\d-\d\d 02:30:00 \+01:00/);
  assert.match(dry.stdout, /after \(same\)\s+\d{4}-/);
  assert.match(
    dry.stdout,
    /DST after the edit: \d{4}-10-\d\d clocks \+02:00 → \+01:00: 02:30:00 occurs twice: both/,
  );
  assert.match(dry.stdout, /at once if applied now: nothing runs \(when it fires changes/);
  const json = await beat(['sync', '--dir', decl.rel, '--dry-run', '--json'], { DATABASE_URL: file.db.url });
  const parsed = JSON.parse(json.stdout);
  assert.equal(parsed.previews.length, 1);
  assert.equal(parsed.previews[0].name, 'reports.nightly');
  assert.equal(parsed.previews[0].after.length, 5);
  // Nothing was written.
  const [row] = await file.db.sql`select dst_policy from metronome.schedules where name = 'reports.nightly'`;
  assert.equal(row?.dst_policy, null);
});

test('the example schedules in schedules/ load and validate, one of each kind', async () => {
  const { found, calendars, problems } = await loadDeclarations('schedules');
  const { valid, problems: invalid } = validateDeclarations(found, Date.now(), calendars);
  assert.deepEqual([...problems, ...invalid], []);
  assert.ok(
    valid.some((d) => d.fields.calendars.includes('weekends') && d.fields.onExcluded === 'previous'),
    'a schedule on business days (the last one of the month)',
  );
  assert.deepEqual([...new Set(valid.map((d) => d.fields.kind))].sort(), [
    'clocked',
    'crontab',
    'interval',
    'solar',
  ]);
  assert.ok(
    valid.some((d) => d.fields.kind === 'crontab' && d.fields.cronFields !== null),
    'a Celery-object crontab',
  );
  assert.ok(
    valid.some((d) => d.fields.kind === 'interval' && d.fields.everyMs! <= 60_000),
    'fires within a minute',
  );
});

test('re-enabling a schedule recomputes its next fire (time spent disabled is not a backlog)', async () => {
  decl.write('add.ts', ADD.replace('args: [2, 3]', 'args: [2, 3], enabled: false'));
  await sync();
  await file.db
    .sql`update metronome.schedules set next_fire_at = '2020-01-01T00:00:00Z' where name = 'tasks.add'`;
  decl.write('add.ts', ADD);
  const { plan } = await sync();
  assert.equal(actions(plan)['tasks.add'], 'update');
  const { next_fire_at } = one(
    await file.db.sql`select next_fire_at from metronome.schedules where name = 'tasks.add'`,
  );
  assert.ok(next_fire_at.getTime() > Date.now() - 1000);
});

test('--prune with no declarations found refuses to delete everything', async () => {
  decl.write('reports.ts', REPORTS);
  await sync();
  decl.remove('reports.ts');
  const run = await beat(['sync', '--dir', decl.rel, '--prune'], { DATABASE_URL: file.db.url });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /no declarations found .*refusing to --prune/);
  const { n } = one(await file.db.sql`select count(*)::int as n from metronome.schedules`);
  assert.equal(n, 1);
});
