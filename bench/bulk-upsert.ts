/**
 * Bulk upsert through the client against plain SQL: N schedules (default 100,000; `--count N`)
 * created with `client.upsertMany` (validated as `beat add` validates, next fires computed, an
 * audit record each, batches of 1000 in a transaction each), then the same rows written by plain
 * SQL (multi-row INSERTs of the same columns, 1000 a statement, one transaction each, no
 * validation, no audit) into a fresh database. Prints both times and the ratio.
 *
 *   node --import tsx bench/bulk-upsert.ts [--count 100000] [--batch 1000]
 */
import { parseArgs } from 'node:util';
import { connect, crontab } from '../src/index.ts';
import { benchDatabase } from './support.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '100000' }, batch: { type: 'string', default: '1000' } },
});
const count = Number(values.count);
const batchSize = Number(values.batch);

const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Tokyo'];
const items = Array.from({ length: count }, (_, i) => ({
  name: `customer.${i}.invoice`,
  task: 'billing.invoice',
  schedule: crontab(`${i % 60} ${i % 24} * * *`, { tz: zones[i % zones.length]! }),
  kwargs: { customer: i },
  queue: 'billing',
}));

async function viaClient(): Promise<number> {
  const bench = await benchDatabase('bulk_client');
  const client = await connect({ databaseUrl: bench.url, actor: 'bench' });
  try {
    const started = performance.now();
    const result = await client.upsertMany(items, { batchSize });
    const ms = performance.now() - started;
    if (result.errors.length > 0 || result.created !== count) {
      throw new Error(
        `client: ${result.created} created, errors: ${JSON.stringify(result.errors.slice(0, 3))}`,
      );
    }
    const [row] = await bench.sql<{ n: number }[]>`
      select count(*)::int as n from metronome.schedules where next_fire_at is not null`;
    if (row?.n !== count) throw new Error(`client: ${row?.n} rows with a next fire, expected ${count}`);
    return ms;
  } finally {
    await client.close();
    await bench.drop();
  }
}

async function viaSql(): Promise<number> {
  const bench = await benchDatabase('bulk_sql');
  try {
    const sqlJson = (value: object) => bench.sql.json(value as never);
    const rows = items.map((item) => ({
      name: item.name,
      task: item.task,
      kind: 'crontab',
      cron: item.schedule.cron as string,
      timezone: item.schedule.timezone,
      kwargs: sqlJson(item.kwargs),
      queue: item.queue,
      managed_by: 'db',
    }));
    const { sql } = bench;
    const started = performance.now();
    for (let first = 0; first < rows.length; first += batchSize) {
      const batch = rows.slice(first, first + batchSize);
      await sql.begin(async (tx) => {
        await tx`insert into metronome.schedules ${tx(batch, 'name', 'task', 'kind', 'cron', 'timezone', 'kwargs', 'queue', 'managed_by')}`;
      });
    }
    const ms = performance.now() - started;
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from metronome.schedules`;
    if (row?.n !== count) throw new Error(`sql: ${row?.n} rows, expected ${count}`);
    return ms;
  } finally {
    await bench.drop();
  }
}

const client = await viaClient();
const plain = await viaSql();
const fmt = (ms: number) =>
  `${(ms / 1000).toFixed(2)} s (${Math.round(count / (ms / 1000)).toLocaleString('en')} /s)`;
console.log(`bulk upsert of ${count.toLocaleString('en')} schedules, batches of ${batchSize}`);
console.log(`  client.upsertMany: ${fmt(client)}`);
console.log(`  plain SQL INSERT:  ${fmt(plain)}`);
console.log(`  ratio client / SQL: ${(client / plain).toFixed(2)}`);
