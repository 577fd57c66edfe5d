/**
 * The herd: N schedules due at one instant, handled by the real runtime in-process, on the local
 * Postgres and (optionally) Redis run locks and a real Celery broker on Redis. Measured on database
 * time, from the due instant to the last occurrence recorded enqueued (claimed, locked, published and
 * its status written), with the ledger's duplicates and left-claimed counts.
 *
 *   node --import tsx bench/herd.ts [--n 100000] [--transport log|celery] [--locks redis|memory]
 *                                   [--lead 20] [--log-level info] [--cpu-prof]
 *   npm run bench:herd -- --transport celery --locks redis
 *
 * The schedules are inserted with their cursor (next_fire_at) at an instant `--lead` seconds ahead,
 * before the beat starts; the beat loads them and waits, so "due" is one exact instant for all N.
 * The bench checks the load finished before that instant (else raise --lead).
 *
 * `--cpu-prof` profiles the herd alone (from a second before the due instant to the last record)
 * with the inspector and writes `herd-<time>.cpuprofile` in the working directory; summarise it with
 * `node bench/profile-summary.ts <file>`. (`node --cpu-prof --import tsx bench/herd.ts` profiles the
 * whole process, set-up included.)
 *
 * Env: METRONOME_BENCH_PG_URL (admin URL, default postgres://postgres@127.0.0.1:5432/postgres),
 *      REDIS_URL (default redis://127.0.0.1:6379/10: locks and broker use this database number).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { BeatMetrics } from '../src/beat/metrics.ts';
import { Beat } from '../src/beat/runtime.ts';
import { createRunLocks } from '../src/locks/index.ts';
import { createLogger } from '../src/logger.ts';
import { loadCelerySettings } from '../src/transports/celery/settings.ts';
import { CeleryTransport } from '../src/transports/celery/transport.ts';
import { LogTransport } from '../src/transports/log.ts';
import type { Transport } from '../src/transports/transport.ts';
import { BEAT_DEFAULTS, benchDatabase, deleteKeys } from './support.ts';

const { values: opt } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    transport: { type: 'string', default: 'celery' },
    locks: { type: 'string', default: 'redis' },
    lead: { type: 'string', default: '20' },
    'log-level': { type: 'string', default: 'info' },
    'batch-size': { type: 'string', default: process.env.METRONOME_BATCH_SIZE ?? '1000' },
    'cpu-prof': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '120' },
  },
});
const N = Number(opt.n);
const TRANSPORT = opt.transport === 'log' ? 'log' : 'celery';
const LOCKS = opt.locks === 'memory' ? 'memory' : 'redis';
const LEAD_MS = Number(opt.lead) * 1000;
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/10';

const bench = await benchDatabase('herd');
const { id, database, leaseDb, sql } = bench;
const dbNow = bench.now;

const dueAt = Math.ceil((await dbNow()) / 1000) * 1000 + LEAD_MS;
const insertStarted = performance.now();
// Anchored at the due instant, so the next slot is an hour after it (on the epoch's grid, a run
// started a minute before the hour would meet a second herd at the hour).
await sql`insert into metronome.schedules (name, task, kind, every_ms, anchor_at, managed_by, next_fire_at)
          select 'herd-' || i, 'tasks.herd', 'interval', 3600000, to_timestamp(${dueAt / 1000}), 'db',
                 to_timestamp(${dueAt / 1000})
          from generate_series(1, ${N}) i`;
const insertMs = performance.now() - insertStarted;

// The log: discarded (as by a log shipper reading stderr), looked at only for the start of the loop;
// warnings and errors are kept, to be printed when the herd did not all go out.
let loopStartedAt: number | undefined;
let lines = 0;
const troubles: string[] = [];
const sink = {
  write(line: string) {
    lines++;
    if (loopStartedAt === undefined && line.includes('"tick loop started"')) loopStartedAt = Date.now();
    if (/"level":(40|50|60)/.test(line) && troubles.length < 20) troubles.push(line.trim());
  },
};
const log = createLogger({ level: opt['log-level'], destination: sink });

const queue = `herd-${id}`;
const locks = createRunLocks({
  redisUrls: LOCKS === 'redis' ? [REDIS] : [],
  prefix: `metronome:herd:${id}:`,
});
const transport: Transport =
  TRANSPORT === 'log'
    ? new LogTransport(() => {})
    : new CeleryTransport(loadCelerySettings({ BROKER_URL: REDIS, METRONOME_DEFAULT_QUEUE: queue }), log);
const metrics = new BeatMetrics({ processMetrics: false });
const beat = new Beat({
  database,
  leaseConnection: leaseDb,
  transport,
  locks,
  log,
  metrics,
  ...BEAT_DEFAULTS,
  batchSize: Number(opt['batch-size']),
});
const startedWall = Date.now();
await beat.start();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
while (loopStartedAt === undefined && Date.now() - startedWall < LEAD_MS * 2) await sleep(50);
const offset = (await dbNow()) - Date.now();
const loadedAt = (loopStartedAt ?? Date.now()) + offset;
if (loadedAt > dueAt)
  console.log(
    `WARNING: the beat started its loop ${loadedAt - dueAt} ms after the due instant: raise --lead`,
  );

let session: Session | undefined;
if (opt['cpu-prof']) {
  await sleep(Math.max(0, dueAt - 1000 - (Date.now() + offset)));
  session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
}

// CPU this process spent on the herd (the beat, and the bench's polling): steadier than wall time
// on a shared machine.
const cpuAtDue = await (async () => {
  await sleep(Math.max(0, dueAt - (Date.now() + offset)));
  return process.cpuUsage();
})();
const done = TRANSPORT === 'log' ? 'succeeded' : 'enqueued';
const deadline = dueAt + Number(opt.timeout) * 1000;
// The issue-16 measure: due instant → the last message in the broker (its queue's length, read every
// 50 ms on a connection of the bench's own), before the ledger records them.
const inBrokerAt = TRANSPORT === 'celery' ? brokerFull(new Redis(REDIS)) : Promise.resolve(undefined);
async function brokerFull(watcher: Redis): Promise<number | undefined> {
  try {
    while (Date.now() + offset < deadline) {
      if ((await watcher.llen(queue)) >= N) return Date.now() + offset;
      await sleep(50);
    }
    return undefined;
  } finally {
    watcher.disconnect();
  }
}
let recorded = 0;
while (Date.now() + offset < deadline) {
  await sleep(250);
  if (Date.now() + offset < dueAt) continue;
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from metronome.occurrences where status = ${done}`;
  recorded = row?.n ?? 0;
  if (recorded >= N) break;
}
const cpu = process.cpuUsage(cpuAtDue);
const allInBroker = await inBrokerAt;
let profileFile: string | undefined;
if (session) {
  const { profile } = await session.post('Profiler.stop');
  profileFile = `herd-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
  writeFileSync(profileFile, JSON.stringify(profile));
  session.disconnect();
}
await beat.stop();

const [ledger] = await sql<
  {
    total: number;
    claimed: number;
    done: number;
    other: number;
    first_claim: number;
    last_claim: number;
    first_enq: number;
    last_enq: number;
    p50: number;
    p99: number;
  }[]
>`
  select count(*)::int as total,
         count(*) filter (where status = 'claimed')::int as claimed,
         count(*) filter (where status = ${done})::int as done,
         count(*) filter (where status not in ('claimed', ${done}))::int as other,
         extract(epoch from min(claimed_at)) * 1000 as first_claim,
         extract(epoch from max(claimed_at)) * 1000 as last_claim,
         extract(epoch from min(enqueued_at)) * 1000 as first_enq,
         extract(epoch from max(enqueued_at)) * 1000 as last_enq,
         percentile_cont(0.5) within group (order by extract(epoch from enqueued_at) * 1000) as p50,
         percentile_cont(0.99) within group (order by extract(epoch from enqueued_at) * 1000) as p99
  from metronome.occurrences`;
// Per batch (one claim transaction: one claimed_at): claim start → its statuses recorded, and the
// time from one claim to the next (the batch period).
const [phases] = await sql<{ batches: number; claim_to_recorded: number; period: number }[]>`
  with b as (select claimed_at, max(enqueued_at) as recorded from metronome.occurrences group by claimed_at)
  select count(*)::int as batches,
         avg(extract(epoch from recorded - claimed_at) * 1000)::float8 as claim_to_recorded,
         (extract(epoch from max(claimed_at) - min(claimed_at)) * 1000 / greatest(count(*) - 1, 1))::float8 as period
  from b`;
// What the rows that are neither claimed nor done are, and why.
const others = await sql<{ status: string; error: string | null; n: number }[]>`
  select status, error, count(*)::int as n from metronome.occurrences
  where status not in ('claimed', ${done}) group by status, error order by n desc limit 10`;
const [dup] = await sql<{ n: number }[]>`
  select count(*)::int as n from (select 1 from metronome.occurrences where not manual
                                  group by schedule_id, scheduled_for having count(*) > 1) d`;

// What the broker holds: every message once.
let inBroker: number | undefined;
let brokerDuplicates: number | undefined;
if (TRANSPORT === 'celery') {
  const redis = new Redis(REDIS);
  inBroker = await redis.llen(queue);
  const ids = new Set<string>();
  brokerDuplicates = 0;
  for (let i = 0; i < inBroker; i += 10_000) {
    for (const envelope of await redis.lrange(queue, i, i + 9_999)) {
      const taskId = /"id": "([^"]+)"/.exec(envelope)?.[1] ?? '';
      if (ids.has(taskId)) brokerDuplicates++;
      ids.add(taskId);
    }
  }
  await redis.del(queue, `_kombu.binding.${queue}`);
  await deleteKeys(redis, `metronome:herd:${id}:*`);
  redis.disconnect();
}

await transport.close();
await locks.close();
await bench.drop();

const s = (ms: number | undefined) =>
  ms === undefined || Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
const herdMs = Number(ledger?.last_enq) - dueAt;
console.log(
  `herd: ${N} schedules due at one instant; transport ${TRANSPORT}${TRANSPORT === 'celery' ? ' (Redis broker)' : ''}; run locks ${LOCKS === 'redis' ? 'Redis' : 'in-process'}; batch ${opt['batch-size']}; log level ${opt['log-level']}`,
);
console.log(
  `node ${process.version}; ${os.cpus().length} cores; load average ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; insert ${s(insertMs)}; loop started ${s(dueAt - loadedAt)} before the due instant`,
);
console.log(
  `process CPU from the due instant to the last record: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s (user ${(cpu.user / 1e6).toFixed(2)}, system ${(cpu.system / 1e6).toFixed(2)})`,
);
console.log(
  `due → all recorded ${ledger?.done === N ? 'enqueued' : `(ONLY ${ledger?.done} of ${N})`}: ${s(herdMs)}  (${Math.round((N / herdMs) * 1000)} fires/s)`,
);
if (TRANSPORT === 'celery')
  console.log(
    `due → all in the broker: ${allInBroker === undefined ? 'not within the timeout' : s(allInBroker - dueAt)} (its queue's length, read every 50 ms)`,
  );
console.log(
  `due → first claim ${s(Number(ledger?.first_claim) - dueAt)}, last claim ${s(Number(ledger?.last_claim) - dueAt)}; first recorded ${s(Number(ledger?.first_enq) - dueAt)}, median ${s(Number(ledger?.p50) - dueAt)}, p99 ${s(Number(ledger?.p99) - dueAt)}`,
);
console.log(
  `ledger: ${ledger?.total} occurrences, ${ledger?.done} ${done}, duplicates ${dup?.n}, left claimed ${ledger?.claimed}, other ${ledger?.other}${inBroker === undefined ? '' : `; broker: ${inBroker} messages, ${brokerDuplicates} duplicates`}; ${lines} log lines`,
);
console.log(
  `batches: ${phases?.batches}; per batch, claim start → recorded ${phases?.claim_to_recorded.toFixed(0)} ms on average, one claim to the next ${phases?.period.toFixed(0)} ms`,
);
for (const o of others) console.log(`  other: ${o.n} ${o.status}${o.error ? ` (${o.error})` : ''}`);
if (Number(ledger?.other) + Number(ledger?.claimed) > 0)
  for (const line of troubles) console.log(`  log: ${line.slice(0, 400)}`);
if (profileFile) console.log(`cpu profile of the herd: ${profileFile}`);
