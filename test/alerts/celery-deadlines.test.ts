/**
 * Deadlines and alerts against real servers (issue 20): `beat run` processes (a leader and a
 * standby) publishing to a real Celery worker over Redis, a webhook receiver that fails the first
 * attempts of each alert, and then: a task that sleeps past its finish deadline, a task that fails,
 * a worker killed mid-run, a broker that is down, and the leader killed while alerts wait to be
 * delivered. Every alert the ledger holds reaches the receiver, signed, and is processed once.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { verifyAlertSignature } from '../../src/model/alert-message.ts';
import { celeryBeatEnv } from '../support/beat-env.ts';
import { BeatProcess, eventually, STARTUP_MS } from '../support/beat-process.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker } from '../support/celery-worker.ts';
import { freePort } from '../support/redis.ts';

const SECRET = 'deadline-test-secret-0123456789';

/** The webhook receiver: answers 503 to the first `failFirst` attempts of each alert, or to all while down. */
class Receiver {
  readonly attempts = new Map<string, number>();
  /** Alerts processed (first accepted attempt), by idempotency key. */
  readonly processed = new Map<string, Record<string, unknown>>();
  /** Accepted attempts of an alert already processed (a re-send the key tells apart). */
  duplicates = 0;
  badSignatures = 0;
  down = false;
  server!: Server;
  url = '';

  constructor(readonly failFirst: number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () => {
        const key = String(req.headers['idempotency-key'] ?? '');
        const signature = String(req.headers['metronome-signature'] ?? '');
        if (!verifyAlertSignature(signature, body, SECRET, Math.floor(Date.now() / 1000))) {
          this.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const n = (this.attempts.get(key) ?? 0) + 1;
        this.attempts.set(key, n);
        if (this.down || n <= this.failFirst) {
          res.writeHead(503).end('not now');
          return;
        }
        if (this.processed.has(key)) this.duplicates++;
        else this.processed.set(key, JSON.parse(body));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/metronome`;
  }

  of(schedule: string, kind: string): Record<string, unknown> | undefined {
    return [...this.processed.values()].find((a) => a.schedule === schedule && a.kind === kind);
  }
}

const receiver = new Receiver(2);
let worker: CeleryWorker | undefined;
let leader: BeatProcess | undefined;
let standby: BeatProcess | undefined;
let env: Record<string, string>;
let brokerUrl: string;
let backendUrl: string;

const file = celeryServicesPerFile(
  { redisServers: ['broker', 'backend'] },
  async ({ db, redis }) => {
    await receiver.start();
    brokerUrl = `${redis.broker.url}/0`;
    backendUrl = `${redis.backend.url}/0`;
    worker = await CeleryWorker.start({ broker: brokerUrl, backend: backendUrl, concurrency: 4 });
    env = celeryBeatEnv(
      db.url,
      { broker: brokerUrl, backend: backendUrl },
      {
        METRONOME_ALERT_WEBHOOK_URL: receiver.url,
        METRONOME_ALERT_WEBHOOK_SECRET: SECRET,
        METRONOME_ALERT_WEBHOOK_TIMEOUT: '2s',
        METRONOME_ALERT_RETRY_MAX: '1s',
        METRONOME_DEADLINE_INTERVAL: '250ms',
        METRONOME_PUBLIC_URL: 'https://metronome.example.com/',
      },
    );
  },
  async () => {
    await leader?.stop();
    await standby?.stop();
    await worker?.stop();
    receiver.server?.close();
  },
);

async function metrics(beat: BeatProcess): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${beatPorts.get(beat)}/metrics`);
  return response.text();
}
const beatPorts = new Map<BeatProcess, number>();

async function addSchedule(
  name: string,
  task: string,
  everyMs: number,
  kwargs: Record<string, unknown>,
  deadlines: { start?: number; finish?: number },
): Promise<void> {
  await file.db.sql`insert into metronome.schedules
    (name, task, kind, every_ms, kwargs, start_deadline_ms, finish_deadline_ms, managed_by)
    values (${name}, ${task}, 'interval', ${everyMs}, ${file.db.sql.json(kwargs as never)},
            ${deadlines.start ?? null}, ${deadlines.finish ?? null}, 'db')`;
}

async function outcomes(
  name: string,
): Promise<Array<{ outcome: string | null; reason: string | null; status: string }>> {
  return file.db.sql`select deadline_outcome as outcome, deadline_reason as reason, status
    from metronome.occurrences where schedule_name = ${name} order by scheduled_for`;
}

async function rows(): Promise<
  Array<{ key: string; delivery: string; kind: string; schedule_name: string; attempts: number }>
> {
  return file.db.sql`select key, delivery, kind, schedule_name, attempts from metronome.alerts order by id`;
}

/** Every alert the ledger raised reached the receiver and was processed there exactly once. */
async function allDelivered(timeoutMs: number): Promise<void> {
  await eventually('every alert to be delivered', timeoutMs, async () => {
    const all = await rows();
    return all.length > 0 && all.every((a) => a.delivery === 'delivered' && receiver.processed.has(a.key));
  });
  const all = await rows();
  assert.equal(
    receiver.processed.size,
    new Set(all.map((a) => a.key)).size,
    'the receiver got exactly the alerts raised',
  );
  assert.equal(receiver.badSignatures, 0);
}

describe('deadlines on a real Celery worker, alerts to a webhook that fails its first attempts', () => {
  test('a task sleeping past its finish deadline, a failing task and an on-time one; no deadlines, no outcome', async () => {
    await addSchedule('sleepy', 'tasks.record', 6_000, { sleep: 4 }, { finish: 2_000 });
    await addSchedule('brisk', 'tasks.record', 3_000, {}, { start: 3_000, finish: 5_000 });
    await addSchedule('nope', 'tasks.nope', 5_000, {}, { finish: 30_000 });
    await addSchedule('plain', 'tasks.record', 1_000, {}, {});
    const port = await freePort();
    leader = new BeatProcess('leader', { ...env, METRONOME_HTTP: `127.0.0.1:${port}` });
    beatPorts.set(leader, port);
    await leader.waitForLog('leading', STARTUP_MS);
    const standbyPort = await freePort();
    standby = new BeatProcess('standby', { ...env, METRONOME_HTTP: `127.0.0.1:${standbyPort}` });
    beatPorts.set(standby, standbyPort);

    // The breach goes out while the task still runs: at its deadline, not at its end.
    const breach = await eventually('the not_finished alert of sleepy', 30_000, () =>
      receiver.of('sleepy', 'not_finished'),
    );
    assert.equal(breach.type, 'breach');
    assert.match(String(breach.reason), /not finished 2s after its slot .*still running/);
    assert.match(String(breach.dashboard), /^https:\/\/metronome\.example\.com\/schedules\/sleepy$/);
    assert.ok(Date.parse(String(breach.slot)) > 0);
    const failed = await eventually('the failed alert of nope', 30_000, () => receiver.of('nope', 'failed'));
    assert.match(String(failed.reason), /the run failed: .*NotRegistered/);
    await eventually('two on-time runs of brisk', 30_000, async () =>
      (await outcomes('brisk')).filter((o) => o.outcome === 'on_time').length >= 2 ? true : undefined,
    );
    await eventually('an outcome of sleepy', 30_000, async () =>
      (await outcomes('sleepy')).some((o) => o.outcome === 'not_finished') ? true : undefined,
    );
    const plain = await outcomes('plain');
    assert.ok(plain.length >= 3, 'plain ran');
    assert.ok(
      plain.every((o) => o.outcome === null),
      'a schedule without deadlines is never judged',
    );
    assert.equal(receiver.of('brisk', 'started_late'), undefined);

    // Each alert was refused twice, then processed once; a second sleepy breach raised no second alert.
    await allDelivered(30_000);
    for (const a of await rows()) assert.ok(a.attempts >= 3, `${a.key}: ${a.attempts} attempts`);
    assert.equal((await rows()).filter((a) => a.schedule_name === 'sleepy').length, 1);
    const exposed = await metrics(leader);
    assert.match(exposed, /metronome_alerts_raised_total\{kind="not_finished"\} [1-9]/);
    assert.match(exposed, /metronome_deadline_outcomes_total\{outcome="on_time"\} [1-9]/);
    assert.match(exposed, /metronome_schedules_in_breach [1-9]/);
    assert.match(exposed, /metronome_alert_deliveries_total\{outcome="failed"\} [1-9]/);
    assert.doesNotMatch(exposed, /schedule="/, 'no series carries a schedule name');
    assert.equal(leader.hasLog('deadline pass failed'), false);
    assert.equal(leader.hasLog('alert delivery round failed'), false);

    // Back on time: one recovery.
    await file.db.sql`update metronome.schedules set kwargs = '{}'::jsonb where name = 'sleepy'`;
    const recovered = await eventually('the recovery of sleepy', 30_000, () =>
      receiver.of('sleepy', 'recovered'),
    );
    assert.equal(recovered.type, 'recovery');
    await file.db.sql`update metronome.schedules set enabled = false where name in ('nope', 'plain')`;
    await allDelivered(30_000);
  });

  test('a worker killed mid-run: the run not finished by its deadline is alerted', async () => {
    // One run, two seconds from now.
    await file.db
      .sql`insert into metronome.schedules (name, task, kind, run_at, kwargs, finish_deadline_ms, managed_by)
      values ('doomed', 'tasks.record', 'clocked', now() + interval '2 seconds', '{"sleep": 60}'::jsonb, 3000, 'db')`;
    await eventually('doomed to start on the worker', 30_000, () =>
      worker
        ?.starts()
        .some((r) => r.task === 'tasks.record' && (r.kwargs as { sleep?: number }).sleep === 60),
    );
    worker?.kill();
    const alert = await eventually('the not_finished alert of doomed', 30_000, () =>
      receiver.of('doomed', 'not_finished'),
    );
    assert.match(String(alert.reason), /not finished 3s after its slot/);
    worker = await CeleryWorker.start({ broker: brokerUrl, backend: backendUrl, concurrency: 4 });
    await allDelivered(30_000);
  });

  test('a broker that is down: runs not started by their start deadline are alerted, then recover', async () => {
    // Slots 6 s apart: at a slot's start deadline the next slot is not due yet (that would record it missed).
    await addSchedule('through-outage', 'tasks.record', 6_000, {}, { start: 2_000, finish: 4_000 });
    await eventually('an on-time run of through-outage', 30_000, async () =>
      (await outcomes('through-outage')).some((o) => o.outcome === 'on_time') ? true : undefined,
    );
    await file.redis.broker.stop();
    try {
      const late = await eventually('the started_late alert of through-outage', 30_000, () =>
        receiver.of('through-outage', 'started_late'),
      ).catch(async (error) => {
        const ledger = await file.db.sql`select scheduled_for, status, started_at, deadline_outcome, error
          from metronome.occurrences where schedule_name = 'through-outage' order by scheduled_for`;
        throw new Error(
          `${error.message}\nledger: ${JSON.stringify(ledger)}\nalerts: ${JSON.stringify(await rows())}\nleader logs: ${JSON.stringify(leader?.logs.slice(-15))}`,
        );
      });
      assert.match(String(late.reason), /not started 2s after its slot/);
    } finally {
      await file.redis.broker.start();
    }
    await eventually('the recovery of through-outage', 60_000, () =>
      receiver.of('through-outage', 'recovered'),
    );
    await allDelivered(30_000);
  });

  test('the leader killed while alerts wait for the webhook: the next leader delivers them, each once', async () => {
    receiver.down = true;
    await file.db.sql`update metronome.schedules set kwargs = '{"sleep": 8}'::jsonb where name = 'brisk'`;
    // Alerts the old leader raised and tried to deliver (refused: the receiver is down).
    const pending = await eventually('an alert refused while the receiver is down', 60_000, async () => {
      const waiting = (await rows()).filter((a) => a.delivery === 'pending' && a.attempts >= 1);
      return waiting.length > 0 ? waiting.map((a) => a.key) : undefined;
    });
    leader?.signal('SIGKILL');
    await leader?.exited;
    await standby?.waitForLog('leading', 30_000);
    receiver.down = false;
    await allDelivered(60_000);
    for (const key of pending)
      assert.ok(receiver.processed.has(key), `${key} raised under the old leader arrived`);
    assert.equal(receiver.duplicates, 0, 'no alert was accepted twice');
  });
});
