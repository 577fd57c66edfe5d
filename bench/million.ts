/**
 * A million schedules on one leader (issue 13). Creates its own database, inserts N mixed schedules
 * with generate_series (intervals and crontabs over several zones, some solar, some one-offs far
 * ahead; none due while it measures), starts a real `bin/beat.js run` process, and prints:
 * - start → leading → schedules loaded → tick loop started (from the process's log lines); the leader
 *   holds only the schedules due within its horizon (METRONOME_HORIZON), so "loaded" is the first page;
 * - cold only: start → every row has its next_fire_at (the background fill, polled every 250 ms);
 * - RSS (/proc/<pid>/status VmRSS) after the load and a minute later;
 * - idle CPU % over 60 s (/proc/<pid>/stat utime + stime);
 * - edits: UPDATE one one-off row's run_at to the database's now, from the commit to the enqueue
 *   line the leader prints (log transport); and one interval row set to every 1 s (commit → first
 *   enqueue, minus the wait for its first slot);
 * then the same again on a second start over the same database (warm: next_fire_at stored).
 * Targets at 1,000,000 (issue 16): first tick ≤ 2 s after start, warm and cold (rows without
 * next_fire_at, all filled within 30 s), RSS ≤ 300 MB, idle CPU ≤ 1 %, an edit applied ≤ 100 ms.
 *
 *   npm run build --silent -- --noCheck     # the process runs dist/
 *   node --import tsx bench/million.ts [N=1000000] [--idle-s 60] [--keep] [--cpu-prof DIR]
 *
 * MILLION_BEAT=/other/checkout/bin/beat.js measures another build (a before figure).
 * --cpu-prof DIR starts the beat with `node --cpu-prof --cpu-prof-dir DIR` (the profile is written
 * when it exits). --keep leaves the database for another run (its name is printed).
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { BeatProcess, sleep } from '../test/support/beat-process.ts';
import { BEAT as OUR_BEAT, ROOT } from '../test/support/cli.ts';
import { createTestDatabase } from '../test/support/pg.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const N = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000);
const IDLE_S = Number(flag('--idle-s') ?? 60);
const KEEP = args.includes('--keep');
const CPU_PROF = flag('--cpu-prof');
const EDITS = 5;
const CLK_TCK = 100;
/** Another build to measure (e.g. main's, for a before figure): MILLION_BEAT=/path/to/bin/beat.js. */
const BEAT = process.env.MILLION_BEAT ?? OUR_BEAT;

const db = await createTestDatabase();
const env = {
  DATABASE_URL: db.url,
  METRONOME_HTTP: 'off',
  METRONOME_SYNC_ON_START: 'false',
  METRONOME_TRANSPORT: 'log',
  BROKER_URL: undefined,
  REDIS_URL: 'redis://127.0.0.1:6379/11',
  LOG_LEVEL: 'info',
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`million: N=${N}, database ${db.name}, node ${process.version}, load average ${load()}`);

const migrated = spawnSync(process.execPath, [BEAT, 'migrate'], {
  cwd: ROOT,
  env: { ...process.env, DATABASE_URL: db.url },
  encoding: 'utf8',
});
if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);

await insertSchedules(N);

const cold = await measureStart('cold');
const warm = await measureStart('warm');
console.log(
  '\nsummary (targets at 1,000,000: first tick ≤ 2 s, all filled ≤ 30 s, RSS ≤ 300 MB, idle CPU ≤ 1 %, edit ≤ 100 ms)',
);
for (const r of [cold, warm]) console.log(`  ${r}`);
if (KEEP) console.log(`database kept: ${db.name} (${db.url})`);
else await db.drop();
if (!KEEP) await db.sql.end().catch(() => {});

/**
 * The mix, by i mod 100: 0–44 intervals (1 h … 7 d, phased so no slot falls in the next 30 min),
 * 45–84 crontabs over eight zones (monthly on a day of the month at least two days away, weekly on a
 * weekday at least two days away), 85–92 solar (from tomorrow), 93–99 one-offs 30+ days ahead.
 */
async function insertSchedules(n: number): Promise<void> {
  const today = new Date();
  const far = (d: number) => Math.abs(d) >= 2 && Math.abs(d) <= 27;
  const doms = [...Array(28).keys()].map((d) => d + 1).filter((d) => far(d - today.getUTCDate()));
  const dows = [0, 1, 2, 3, 4, 5, 6].filter((d) => {
    const diff = (d - today.getUTCDay() + 7) % 7;
    return diff >= 2 && diff <= 5;
  });
  const zones = [
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Asia/Tokyo',
    'Australia/Sydney',
    'America/Los_Angeles',
    'Asia/Kolkata',
    'America/Sao_Paulo',
  ];
  const started = performance.now();
  const CHUNK = 100_000;
  for (let from = 1; from <= n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK - 1);
    await db.sql`
      insert into metronome.schedules
        (name, task, kind, every_ms, anchor_at, cron, timezone, solar_event, latitude, longitude, run_at,
         start_at, args, kwargs, queue, managed_by)
      select 'm-' || i, 'tasks.bench.' || (i % 50), k.kind,
             case when k.kind = 'interval' then k.every end,
             case when k.kind = 'interval'
                  then now() + interval '30 minutes' + ((i::bigint * 7919) % 1000) / 1000.0 * (k.every - 1800000) * interval '1 millisecond' end,
             case when k.kind = 'crontab' then
               case when i % 2 = 0
                    then (i % 60) || ' ' || (i % 24) || ' ' || (${doms}::int[])[1 + i % ${doms.length}] || ' * *'
                    else (i % 60) || ' ' || (i % 24) || ' * * ' || (${dows}::int[])[1 + i % ${dows.length}] end end,
             case when k.kind = 'crontab' then (${zones}::text[])[1 + i % ${zones.length}] end,
             case when k.kind = 'solar' then (array['sunrise','sunset','solar_noon','dusk_civil'])[1 + i % 4] end,
             case when k.kind = 'solar' then -60 + (i % 120) end,
             case when k.kind = 'solar' then -180 + (i % 360) end,
             case when k.kind = 'clocked' then now() + interval '30 days' + i * interval '1 second' end,
             case when k.kind = 'solar' then now() + interval '1 day' end,
             jsonb_build_array(i, 'x'), jsonb_build_object('n', i), case when i % 3 = 0 then 'q' || (i % 7) end,
             'db'
        from generate_series(${from}::int, ${to}::int) i,
             lateral (select case when i % 100 < 45 then 'interval'
                                  when i % 100 < 85 then 'crontab'
                                  when i % 100 < 93 then 'solar'
                                  else 'clocked' end as kind,
                             (array[3600000, 21600000, 86400000, 604800000]::bigint[])[1 + i % 4] as every) k`;
  }
  await db.sql`vacuum analyze metronome.schedules`;
  console.log(`inserted ${n} schedules in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) / 1024;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of the line)
}

async function measureStart(label: 'cold' | 'warm'): Promise<string> {
  console.log(`\n${label} start (load average ${load()})`);
  const argv = CPU_PROF
    ? [process.execPath, '--cpu-prof', '--cpu-prof-dir', CPU_PROF, BEAT, 'run']
    : [process.execPath, BEAT, 'run'];
  const t0 = Date.now();
  const beat = new BeatProcess(`beat-${label}`, env, { argv, cwd: ROOT });
  const pid = beat.child.pid!;
  const leading = await beat.waitForLog('leading', 60_000);
  const loaded = await beat.waitForLog('schedules loaded', 600_000);
  const ticking = await beat.waitForLog('tick loop started', 600_000);
  const s = (at: number) => `${((at - t0) / 1000).toFixed(1)} s`;
  console.log(
    `  start → leading ${s(leading.receivedAt)}, → schedules loaded ${s(loaded.receivedAt)} (${loaded.schedules} valid, ${loaded.invalid} invalid, ${loaded.due} in the due index), → tick loop started ${s(ticking.receivedAt)}`,
  );
  let filled = '';
  if (label === 'cold') {
    const left = await untilFilled();
    filled = `, filled ${s(Date.now())}${left > 0 ? ` (${left} rows still without next_fire_at)` : ''}`;
    console.log(`  start → every row has its next_fire_at${filled.slice(8)}`);
  }
  const rssLoaded = rssMb(pid);
  console.log(`  RSS after load ${rssLoaded.toFixed(0)} MB`);
  await sleep(5_000); // let the start's garbage go
  const cpu0 = cpuTicks(pid);
  const c0 = performance.now();
  await sleep(IDLE_S * 1000);
  const idleCpu = ((cpuTicks(pid) - cpu0) / CLK_TCK / ((performance.now() - c0) / 1000)) * 100;
  const rssLater = rssMb(pid);
  const firedIdle = beat.enqueued.length;
  console.log(
    `  idle CPU ${idleCpu.toFixed(2)} % over ${IDLE_S} s (${firedIdle} runs enqueued meanwhile); RSS ${rssLater.toFixed(0)} MB (load average ${load()})`,
  );

  const edits = await editIntervals(beat, label);
  const applied = edits.map((e) => e.appliedMs);
  const fired = edits.map((e) => e.firedMs);
  console.log(
    `  edit applied (UPDATE commit → next_fire_at written back by the leader): ${applied.map((x) => x.toFixed(0)).join(', ')} ms; → first enqueue past its slot: ${fired.map((x) => x.toFixed(0)).join(', ')} ms`,
  );
  const terms = beat.logs.filter((l) => l.msg === 'leading').length;
  if (terms > 1)
    console.log(`  NOTE: ${terms} terms of leadership in this start (it stepped down and led again)`);
  await beat.stop(30_000);
  return `${label}: first tick ${s(ticking.receivedAt)} (leading ${s(leading.receivedAt)}, loaded ${s(loaded.receivedAt)}${filled}), RSS ${rssLoaded.toFixed(0)} → ${rssLater.toFixed(0)} MB, idle CPU ${idleCpu.toFixed(2)} %, edit applied median ${median(applied).toFixed(0)} ms (max ${Math.max(...applied).toFixed(0)} ms), enqueue past its slot median ${median(fired).toFixed(0)} ms`;
}

/**
 * UPDATE interval rows to every second (the update trigger clears next_fire_at; the leader re-reads
 * the row on its notification and writes next_fire_at back): commit → next_fire_at written, polled
 * every 2 ms; and commit → first enqueue, minus the wait for its first slot. Each is put back to
 * weekly afterwards.
 */
async function editIntervals(
  beat: BeatProcess,
  label: string,
): Promise<Array<{ appliedMs: number; firedMs: number }>> {
  const out: Array<{ appliedMs: number; firedMs: number }> = [];
  for (let e = 0; e < EDITS; e++) {
    const name = `m-${100 * (e + 1) + (label === 'cold' ? 0 : 1)}`;
    await db.sql`update metronome.schedules set every_ms = 1000, anchor_at = null where name = ${name}`;
    const committed = Date.now();
    let applied = 0;
    for (;;) {
      const [row] = await db.sql<{ next: Date | null }[]>`
        select next_fire_at as next from metronome.schedules where name = ${name}`;
      if (row?.next) {
        applied = Date.now();
        break;
      }
      if (Date.now() - committed > 30_000)
        throw new Error(`${name}: the leader did not apply the edit in 30 s`);
      await sleep(2);
    }
    const fired = await waitForEnqueue(beat, name, committed);
    const first = beat.enqueued.find((x) => x.schedule === name && x.receivedAt >= committed)!;
    out.push({
      appliedMs: applied - committed,
      firedMs: fired - Math.max(committed, Date.parse(first.scheduledFor)),
    });
    await db.sql`update metronome.schedules set every_ms = 604800000, anchor_at = now() + interval '1 day' where name = ${name}`;
    await sleep(300);
  }
  return out;
}

async function waitForEnqueue(beat: BeatProcess, name: string, since: number): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const hit = beat.enqueued.find((x) => x.schedule === name && x.receivedAt >= since);
    if (hit) return hit.receivedAt;
    if (Date.now() > deadline) {
      const tail = beat.logs.slice(-10).map((l) => JSON.stringify(l));
      await beat.stop(5_000);
      throw new Error(`${name} was not enqueued within 30 s of its edit; last logs:\n${tail.join('\n')}`);
    }
    await sleep(1);
  }
}

/** Poll until no row lacks next_fire_at (or 300 s pass); returns how many still do. */
async function untilFilled(): Promise<number> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const [row] = await db.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.schedules where next_fire_at is null and invalid_reason is null`;
    if (row?.n === 0 || Date.now() > deadline) return row?.n ?? 0;
    await sleep(250);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
