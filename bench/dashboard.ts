/**
 * The dashboard's reads on a large deployment: N schedules (crontabs at spread-out minutes, a tenth
 * of them intervals) and a ledger of M occurrences over the last day (1% missed, 0.5% failed), on
 * real Postgres. Each API endpoint is timed through the real HTTP server, one request at a time.
 *
 *   node --import tsx bench/dashboard.ts [schedules=10000] [occurrences=1000000] [requests=20]
 * Env: METRONOME_BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { BeatMetrics } from '../src/beat/metrics.ts';
import { openDatabase } from '../src/db/database.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import { createDashboard } from '../src/http/app.ts';
import { startHttpServer } from '../src/http/server.ts';
import { createLogger } from '../src/logger.ts';

const SCHEDULES = Number(process.argv[2] ?? 10_000);
const OCCURRENCES = Number(process.argv[3] ?? 1_000_000);
const REQUESTS = Number(process.argv[4] ?? 20);
const ADMIN = process.env.METRONOME_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const admin = postgres(ADMIN, { max: 1, onnotice: () => {} });
const name = `metronome_bench_${randomBytes(4).toString('hex')}`;
await admin.unsafe(`create database ${name}`);
const url = new URL(ADMIN);
url.pathname = `/${name}`;
const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
await migrateDatabase(database);
const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });

const loadStart = performance.now();
await sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by, queue)
          select 'cron-' || i, 'tasks.report', 'crontab', (i % 60) || ' ' || (i % 24) || ' * * *', 'UTC', 'db',
                 'q' || (i % 5)
          from generate_series(1, ${Math.round(SCHEDULES * 0.9)}) i`;
await sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
          select 'every-' || i, 'tasks.poll', 'interval', 60000 * (1 + i % 10), 'db'
          from generate_series(1, ${SCHEDULES - Math.round(SCHEDULES * 0.9)}) i`;
await sql`update metronome.schedules set next_fire_at = now() + (id % 3600) * interval '1 second'`;
await sql`
  insert into metronome.occurrences
    (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, leader_epoch, enqueued_at, finished_at, error)
  select s.id, s.name, t.at, t.at, md5(g::text),
         case when g % 100 = 0 then 'missed' when g % 200 = 1 then 'failed' else 'succeeded' end,
         1,
         case when g % 100 = 0 then null else t.at + (5 + g % 200) * interval '1 millisecond' end,
         case when g % 100 = 0 then null else t.at + (1000 + g % 5000) * interval '1 millisecond' end,
         case when g % 100 = 0 then 'missed: older than the catch-up window' when g % 200 = 1 then 'boom' end
  from generate_series(1, ${OCCURRENCES}) g
  cross join lateral (select clock_timestamp() - g * (86400000.0 / ${OCCURRENCES}) * interval '1 millisecond' as at) t
  join metronome.schedules s on s.id = 1 + g % ${SCHEDULES}`;
await sql`analyze`;
const loadS = (performance.now() - loadStart) / 1000;

const log = createLogger({ level: 'silent' });
const dashboard = createDashboard({
  database,
  locks: null,
  group: 'default',
  token: undefined,
  bind: '127.0.0.1:0',
  log,
});
const { server, url: base } = await startHttpServer({
  bind: '127.0.0.1:0',
  metrics: new BeatMetrics({ processMetrics: false }),
  readiness: () => ({ ready: true, role: 'standby', reasons: [] }),
  routes: dashboard.handle,
});

async function time(path: string, n = REQUESTS): Promise<{ p50: number; max: number; first: number }> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await fetch(`${base}${path}`);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
    ms.push(performance.now() - start);
  }
  const first = ms[0] ?? 0;
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(ms.length / 2)] ?? 0, max: ms[ms.length - 1] ?? 0, first };
}

console.log(
  `dashboard reads: ${SCHEDULES} schedules, ${OCCURRENCES} occurrences over a day (loaded in ${loadS.toFixed(0)} s)`,
);
console.log(`node ${process.version}; Postgres ${url.host}; ${REQUESTS} requests each, one at a time`);
const rows: [string, string][] = [
  ['GET /api/v1/schedules (first 200)', '/api/v1/schedules'],
  ['GET /api/v1/schedules?state=enabled&q=cron-12', '/api/v1/schedules?state=enabled&q=cron-12'],
  ['GET /api/v1/schedules/{name}', '/api/v1/schedules/cron-42'],
  ['GET /api/v1/schedules/{name}/occurrences', '/api/v1/schedules/cron-42/occurrences'],
  ['GET /api/v1/schedules/{name}/timeline', '/api/v1/schedules/cron-42/timeline'],
  ['GET /api/v1/now', '/api/v1/now'],
  ['GET /api/v1/next-24h', '/api/v1/next-24h'],
  ['GET / (the schedules page)', '/'],
  ['GET /schedules/{name} (a schedule page)', '/schedules/cron-42'],
];
for (const [label, path] of rows) {
  const t = await time(path);
  console.log(
    `${label.padEnd(48)} p50 ${t.p50.toFixed(1).padStart(7)} ms  max ${t.max.toFixed(1).padStart(7)} ms  first ${t.first.toFixed(1).padStart(7)} ms`,
  );
}

await dashboard.close();
await new Promise((resolve) => server.close(resolve));
await database.close();
await sql.end();
await admin.unsafe(`drop database ${name} with (force)`);
await admin.end();
