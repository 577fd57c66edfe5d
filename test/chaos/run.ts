/**
 * `npm run chaos -- --minutes N [--seed S]`: the chaos test (docs/guarantees.md, "The chaos test").
 *
 * Three real beats, real Celery workers, Redis run locks (three servers), a broker and a result
 * backend of the run's own; 300 schedules firing every 1–5 s; faults and schedule edits at seeded
 * moments; then the ledger, the beats' logs and the workers' own records are checked against the
 * guarantees. Prints a table and exits 1 when an invariant broke (2 for bad arguments).
 *
 * It lives under test/ (not bench/) because it is a test — a verdict, not a figure — and shares
 * test/support's real-process helpers; its file is not named *.test.ts, so `npm test` does not run it.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { schedules as schedulesTable } from '../../src/db/schema.ts';
import type { ScheduleRecord } from '../../src/model/index.ts';
import { cleanupCeleryDirs } from '../support/celery-worker.ts';
import { analyze, type Evidence, loadEvidence, saveEvidence } from './analyze.ts';
import { Cluster } from './cluster.ts';
import { applyEdit, firstSlotOf, rowValues } from './edits.ts';
import { readBackfills, readCursors, readLedger, readQueued, readSkipsLeft } from './evidence.ts';
import { type FaultOutcome, injectFault } from './faults.ts';
import { CLAIM_AHEAD_MS, editPlan, faultPlan, HORIZON_MS, MAX_RUN_HOLD_MS, workload } from './plan.ts';
import { Random } from './random.ts';
import { RecordTail } from './records.ts';
import { World } from './world.ts';

interface Options {
  minutes: number;
  seed: number;
  ttlMs: number;
  schedules: number;
  workers: number;
  out: string;
  keepDatabase: boolean;
  examples: number;
  /** Judge the saved evidence of a finished run in this folder instead of running. */
  recheck: string | undefined;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '2' },
      seed: { type: 'string' },
      ttl: { type: 'string', default: '2000' },
      schedules: { type: 'string', default: String(DEFAULT_SCHEDULES) },
      workers: { type: 'string', default: '3' },
      out: { type: 'string' },
      'keep-database': { type: 'boolean', default: false },
      examples: { type: 'string', default: '5' },
      recheck: { type: 'string' },
    },
  });
  const number = (name: string, text: string | undefined, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min)
      throw new UsageError(`--${name} ${text}: a number of at least ${min}`);
    return n;
  };
  const seed =
    values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : number('seed', values.seed, 0);
  return {
    minutes: number('minutes', values.minutes, 0.5),
    seed,
    ttlMs: number('ttl', values.ttl, 1000),
    schedules: number('schedules', values.schedules, 30),
    workers: number('workers', values.workers, 1),
    out: values.out ?? path.join(os.tmpdir(), `metronome-chaos-${seed}-${Date.now()}`),
    keepDatabase: values['keep-database'] ?? false,
    examples: number('examples', values.examples, 0),
    recheck: values.recheck,
  };
}

class UsageError extends Error {}

/**
 * The issue asks for 300 schedules; at 1–5 s that is about 100 runs a second, more than three
 * prefork workers of 3 processes sustain on this project's 2-core machine while it is shared (the
 * queue wait grows without bound and the run proves nothing: see the `load` row). 100 schedules
 * (about 32 runs a second) leave the workers headroom for faults; `--schedules 300` where the
 * machine allows.
 */
const DEFAULT_SCHEDULES = 100;

const say = (text: string) =>
  process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

async function main(): Promise<number> {
  let o: Options;
  try {
    o = options(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(
      `chaos: ${(error as Error).message}\nusage: npm run chaos -- --minutes N [--seed S] [--ttl MS] [--schedules N] [--out DIR] [--keep-database]\n`,
    );
    return 2;
  }
  if (o.recheck) return analyze(o.recheck, loadEvidence(o.recheck), o.examples, say);
  if (existsSync(o.out) && readdirSync(o.out).length > 0) {
    process.stderr.write(`chaos: ${o.out} is not empty; give --out a new folder\n`);
    return 2;
  }
  mkdirSync(o.out, { recursive: true });
  const durationMs = Math.round(o.minutes * 60_000);
  const rng = new Random(o.seed);
  const plannedSchedules = workload(rng.fork('workload'), o.schedules);
  const faults = faultPlan(rng.fork('faults'), durationMs, o.ttlMs);
  const edits = editPlan(rng.fork('edits'), durationMs, faults);
  say(
    `seed ${o.seed}, ${o.minutes} min, ${plannedSchedules.length} schedules, ${faults.length} faults, ${edits.length} edits, lease TTL ${o.ttlMs} ms; artifacts in ${o.out}`,
  );
  writeFileSync(
    path.join(o.out, 'plan.json'),
    JSON.stringify({ options: o, schedules: plannedSchedules, faults, edits }, null, 1),
  );

  const cluster = await Cluster.start({
    dir: o.out,
    ttlMs: o.ttlMs,
    beats: 3,
    workers: o.workers,
    env: {
      // Slots more than a second late follow the catch-up policy (so failovers exercise it).
      METRONOME_MISFIRE_GRACE: '1s',
      // A run whose worker died keeps reading STARTED; its lock is held at most this long.
      METRONOME_MAX_RUN_HOLD: `${MAX_RUN_HOLD_MS}ms`,
      // Claims made ahead of their instant: edits aim inside it, kills leave claims behind.
      METRONOME_CLAIM_AHEAD: `${CLAIM_AHEAD_MS}ms`,
      // The least horizon: schedules beyond it leave the book and come back while claims are held.
      METRONOME_HORIZON: `${HORIZON_MS}ms`,
    },
  });
  // Interrupted (Ctrl-C, a CI timeout): stop every process of the run, never leave them behind.
  const interrupted = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping every process of the run`);
    void cluster
      .teardown(o.keepDatabase)
      .catch(() => {})
      .finally(() => {
        cleanupCeleryDirs();
        process.exit(130);
      });
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  let exitCode = 1;
  try {
    exitCode = await execute(cluster, o, durationMs, plannedSchedules, faults, edits);
  } finally {
    await cluster.teardown(o.keepDatabase).catch((e) => say(`teardown: ${e}`));
    cleanupCeleryDirs();
    if (o.keepDatabase) say(`database kept: ${cluster.db.url}`);
  }
  return exitCode;
}

async function execute(
  cluster: Cluster,
  o: Options,
  durationMs: number,
  plannedSchedules: ReturnType<typeof workload>,
  faults: ReturnType<typeof faultPlan>,
  edits: ReturnType<typeof editPlan>,
): Promise<number> {
  const world = new World();
  const dbNow = () => cluster.dbNow();
  // Every schedule's first slot is at the start of the chaos phase, set as `beat add` sets it.
  const start = Math.ceil(((await dbNow()) + 20_000) / 1000) * 1000;
  for (const s of plannedSchedules) {
    const values = rowValues(s);
    values.nextFireAt = new Date(firstSlotOf(values, start - 1));
    const [row] = await cluster.database.db.insert(schedulesTable).values(values).returning();
    const record = row as ScheduleRecord;
    world.record(record.id, record.name, s.role, {
      at: await dbNow(),
      kind: 'insert',
      style: 'cursor',
      record,
    });
  }
  await Promise.all(Array.from({ length: o.workers }, (_, i) => cluster.startWorker(i)));
  for (let i = 0; i < 3; i++) cluster.startBeat(i);
  const tail = new RecordTail(cluster.recordFile);
  while (Date.now() < start) await sleep(100);
  say('chaos phase begins');

  const outcomes: FaultOutcome[] = [];
  const editCounts = new Map<string, number>();
  const pending: Promise<void>[] = [];
  const sampled = new Map<string, number>();
  let running = true;
  const at = (offset: number) => sleep(Math.max(0, start + offset - Date.now()));

  const faultLoop = (async () => {
    for (const step of faults) {
      await at(step.atMs);
      const outcome = await injectFault(cluster, tail, step, o.ttlMs).catch(
        (error): FaultOutcome => ({
          step,
          injected: false,
          startedAt: Date.now(),
          healedAt: Date.now(),
          detail: String(error),
        }),
      );
      outcomes.push(outcome);
      say(`fault ${step.kind}: ${outcome.detail}${outcome.injected ? '' : ' (NOT injected)'}`);
    }
  })();
  const editLoop = (async () => {
    const ctx = {
      database: cluster.database,
      world,
      dbNow,
      later: (ms: number, fn: () => Promise<void>) => {
        pending.push(
          sleep(ms)
            .then(fn)
            .catch((e) => {
              say(`resume failed: ${e}`);
            }),
        );
      },
    };
    for (const step of edits) {
      await at(step.atMs);
      try {
        await applyEdit(ctx, step);
        editCounts.set(step.kind, (editCounts.get(step.kind) ?? 0) + 1);
      } catch (error) {
        world.failedEdits.push({ at: Date.now(), kind: step.kind, error: String(error) });
      }
    }
  })();
  const sampler = (async () => {
    let lastProgress = Date.now();
    while (running) {
      await sleep(5_000);
      // A claim waits a minute at most; a buffered run waits for the run before it, which may hold
      // its schedule up to its hold limit (its time limit plus a minute, else METRONOME_MAX_RUN_HOLD:
      // a run presumed queued, e.g. prefetched by a worker that was killed), and a minute more.
      const rows = await cluster.sql<{ task_id: string }[]>`
        select o.task_id from metronome.occurrences o left join metronome.schedules s on s.id = o.schedule_id
        where (o.status = 'claimed' and o.claimed_at < clock_timestamp() - interval '60 seconds')
           or (o.status = 'buffered' and o.claimed_at < clock_timestamp() - interval '60 seconds'
                 - coalesce(s.time_limit_s * interval '1 second' + interval '60 seconds',
                            ${MAX_RUN_HOLD_MS} * interval '1 millisecond'))`.catch(() => []);
      for (const r of rows) if (!sampled.has(r.task_id)) sampled.set(r.task_id, Date.now());
      if (Date.now() - lastProgress >= 30_000) {
        lastProgress = Date.now();
        const [c] = await cluster.sql<
          { n: number }[]
        >`select count(*)::int as n from metronome.occurrences`.catch(() => [{ n: -1 }]);
        say(
          `${Math.round((Date.now() - start) / 1000)} s: ${c?.n} ledger rows, ${outcomes.length}/${faults.length} faults, ${[...editCounts.values()].reduce((a, b) => a + b, 0)}/${edits.length} edits`,
        );
      }
    }
  })();
  await Promise.all([faultLoop, editLoop]);
  await Promise.all(pending);
  await at(durationMs);

  // Heal whatever is still hurt, then cut: every slot up to here is owed.
  for (const b of cluster.beats) if (b.stopped) cluster.signalBeat(b.index, 'SIGCONT', 'beat-cont');
  for (let i = 0; i < 3; i++) if (!cluster.alive(i)) cluster.startBeat(i);
  await cluster.proxy.up();
  for (const server of [...cluster.locks, cluster.broker]) if (!server.running) await server.start();
  for (let i = 0; i < o.workers; i++) if (!cluster.workers[i]) await cluster.startWorker(i);
  const cut = await dbNow();
  say('chaos phase over; waiting for the beats to settle');
  await settle(cluster, cut);
  const readAt = await dbNow();
  // Cursors first: a claim that commits between the two reads then adds a row past the cursor (not
  // owed), never a cursor past a row not read (a false gap; seen with a schedule still catching up).
  const cursors = await readCursors(cluster.sql);
  const ledger = await readLedger(cluster.sql);
  const backfillStates = await readBackfills(cluster.sql);
  const skipsLeft = await readSkipsLeft(cluster.sql);
  const queued = await readQueued(`${cluster.broker.url}/0`).catch(() => []);
  running = false;
  await sampler;
  await Promise.all(cluster.beats.map((b) => cluster.terminateBeat(b.index)));
  const evidence: Evidence = {
    seed: o.seed,
    minutes: o.minutes,
    ttlMs: o.ttlMs,
    start,
    cut,
    readAt,
    ledger,
    cursors: [...cursors],
    histories: [...world.histories.values()],
    triggers: world.triggers,
    failedEdits: world.failedEdits,
    events: cluster.events,
    sampled: [...sampled],
    queued,
    outcomes,
    editCounts: [...editCounts],
    backfills: world.backfills,
    backfillStates,
    skipsLeft: [...skipsLeft],
    logFiles: cluster.logFiles.map((f) => path.basename(f)),
  };
  saveEvidence(o.out, evidence);
  return analyze(o.out, evidence, o.examples, say);
}

/**
 * Wait (at most 100 s) until every slot up to the cut is handled: cursors past it, nothing pending,
 * no backfill still open.
 */
async function settle(cluster: Cluster, cut: number): Promise<void> {
  const deadline = Date.now() + 100_000;
  const at = new Date(cut);
  while (Date.now() < deadline) {
    const [row] = await cluster.sql<{ behind: number; pending: number; backfills: number }[]>`
      select (select count(*)::int from metronome.schedules
               where enabled and paused_at is null and invalid_reason is null
                 and (next_fire_at is null or next_fire_at <= ${at})) as behind,
             (select count(*)::int from metronome.occurrences
               where status in ('claimed', 'buffered') and scheduled_for <= ${at}) as pending,
             (select count(*)::int from metronome.backfills
               where status in ('pending', 'running')) as backfills`.catch(() => []);
    if (row && row.behind === 0 && row.pending === 0 && row.backfills === 0) break;
    await sleep(2_000);
  }
  // Runs enqueued just before the cut finish and are tracked meanwhile.
  await sleep(20_000);
}

process.exitCode = await main();
