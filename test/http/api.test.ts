/**
 * The JSON API (/api/v1) of a leading beat on real Postgres: every endpoint answers, and every bad
 * request — unknown name, bad JSON, oversized body, wrong method, bad parameter, no or wrong token,
 * another site, another Host — gets a clear 4xx and never a 500. Mutations are recorded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Presence } from '../../src/beat/presence.ts';
import { createLogger } from '../../src/logger.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { call, type MountedDashboard, mountDashboard, type Reply } from '../support/http.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const TOKEN = 'test-token-0123456789abcdef';
const log = createLogger({ level: 'silent' });
let pg: TestDatabase;
let running: InProcessBeat;
let api: MountedDashboard;
let readOnly: MountedDashboard;
let presence: Presence;
const transport = new ControlledTransport();

const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

/** A request that must be refused with `status`, with the error shape, never a 500. */
async function refused(reply: Reply, status: number, code?: string): Promise<void> {
  assert.equal(reply.status, status, `${status} expected, got ${reply.status}: ${reply.text}`);
  const body = reply.json();
  assert.equal(body.error.status, status);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 10, body.error.message);
  if (code) assert.equal(body.error.code, code);
}

before(async () => {
  pg = await createTestDatabase();
  running = await startInProcessBeat(pg.url, transport, { lockPrefix: `api-${Date.now()}:` });
  await eventually('leadership', 5_000, () => running.beat.leading);
  const options = { database: running.database, locks: running.locks, group: 'default', log };
  const readiness = () => running.beat.readiness();
  api = await mountDashboard({ ...options, token: TOKEN, livePollMs: 200 }, running.metrics, readiness);
  readOnly = await mountDashboard({ ...options, token: undefined }, running.metrics, readiness);
  presence = new Presence({
    database: running.database,
    id: running.beat.holderId,
    group: 'default',
    http: '127.0.0.1:0',
    role: () => running.beat.readiness().role,
    log,
  });
  await presence.start();
  // A run lease of a minute: the first run keeps the run lock however late a busy machine extends it.
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, overlap, queue, description, run_lease_ms)
               values ('api.tick', 'tasks.tick', 'interval', 1000, 'db', 'skip', 'fast', 'ticks every second', 60000)`;
  await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by, source)
               values ('api.nightly', 'reports.nightly', 'crontab', '30 2 * * *', 'Europe/Berlin', 'code', 'schedules/reports.ts')`;
  await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by)
               values ('api.bad', 't', 'crontab', '0 3 * * *', 'Mars/Olympus', 'db')`;
  for (let i = 0; i < 20; i++) {
    await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by)
                 values (${`herd.${i}`}, 'tasks.herd', 'crontab', '17 4 * * *', 'UTC', 'db')`;
  }
  // The first run of api.tick stays active (ControlledTransport): it holds the run lock.
  await eventually('a run of api.tick', 5_000, () => transport.of('api.tick').length >= 1);
});

after(async () => {
  await presence?.stop();
  await api?.close();
  await readOnly?.close();
  await running?.stop();
  await pg?.drop();
});

describe('reads', () => {
  test('GET /api/v1 lists the endpoints and says whether changes are allowed', async () => {
    const index = (await call(api.url, 'GET', '/api/v1')).json();
    assert.equal(index.version, 1);
    assert.equal(index.mutations, 'token');
    assert.ok(index.endpoints.includes('POST /api/v1/schedules/{name}/pause'));
    assert.equal((await call(readOnly.url, 'GET', '/api/v1/')).json().mutations, 'disabled');
  });

  test('GET /api/v1/schedules: spec in words, state with reasons, next fire in UTC and local, filters', async () => {
    const list = (await call(api.url, 'GET', '/api/v1/schedules')).json();
    assert.equal(list.total, 23);
    const byName = new Map(list.schedules.map((s: { name: string }) => [s.name, s]));
    const nightly = byName.get('api.nightly') as ReturnType<typeof JSON.parse>;
    assert.equal(nightly.specWords, '02:30 Europe/Berlin');
    assert.equal(nightly.managedBy, 'code');
    assert.match(nightly.nextFire.utc, /T0[01]:30:00\.000Z$/);
    assert.match(nightly.nextFire.local, / 02:30:00 \+0[12]:00$/);
    const bad = byName.get('api.bad') as ReturnType<typeof JSON.parse>;
    assert.equal(bad.state, 'invalid');
    assert.equal(bad.invalid.column, 'timezone');
    assert.match(bad.invalid.problem, /Mars\/Olympus/);
    const tick = byName.get('api.tick') as ReturnType<typeof JSON.parse>;
    assert.equal(tick.specWords, 'every 1 s');
    assert.ok(tick.latest, 'the latest occurrence is shown');
    const only = async (query: string) =>
      (await call(api.url, 'GET', `/api/v1/schedules?${query}`))
        .json()
        .schedules.map((s: { name: string }) => s.name);
    assert.deepEqual(await only('managedBy=code'), ['api.nightly']);
    assert.deepEqual(await only('state=invalid'), ['api.bad']);
    assert.deepEqual(await only('kind=interval'), ['api.tick']);
    assert.deepEqual(await only('queue=fast'), ['api.tick']);
    assert.deepEqual(await only('q=every%20second'), ['api.tick']);
    assert.deepEqual(await only('task=REPORTS'), ['api.nightly']);
    assert.equal((await only('q=herd&limit=5&offset=5')).length, 5);
  });

  test('GET /api/v1/schedules/{name}: next fires, run lock holder, where a code schedule is edited', async () => {
    const tick = (await call(api.url, 'GET', '/api/v1/schedules/api.tick')).json();
    assert.equal(tick.nextFires.length, 10);
    assert.ok(tick.nextFires.every((f: { utc: string; local: string }) => f.utc && f.local));
    assert.equal(tick.runLock.held, true);
    assert.equal(tick.runLock.run.taskId, transport.of('api.tick')[0]!.taskId);
    assert.equal(tick.codeOwned, null);
    const nightly = (await call(api.url, 'GET', '/api/v1/schedules/api.nightly')).json();
    assert.match(nightly.codeOwned, /schedules\/reports\.ts/);
    assert.equal(nightly.runLock.held, false);
    assert.equal(nightly.definition.timezone, 'Europe/Berlin');
    // Names are percent-encoded path segments.
    await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
                 values ('odd/name with space', 't', 'interval', 3600000, 'db')`;
    const odd = await call(api.url, 'GET', `/api/v1/schedules/${encodeURIComponent('odd/name with space')}`);
    assert.equal(odd.status, 200);
    assert.equal(odd.json().schedule.name, 'odd/name with space');
  });

  test('GET occurrences (lag, duration, status filter) and timeline', async () => {
    const statuses = async () =>
      (await call(api.url, 'GET', '/api/v1/schedules/api.tick/occurrences?limit=100'))
        .json()
        .occurrences.map((o: { status: string }) => o.status);
    // The first run is still going: the next slots are skipped (overlap: skip), with the reason.
    await eventually('a skipped slot', 10_000, async () => (await statuses()).includes('skipped_overlap'));
    transport.finishAll();
    await eventually('the first run seen finished', 10_000, async () =>
      (await statuses()).includes('succeeded'),
    );
    const { occurrences } = (
      await call(api.url, 'GET', '/api/v1/schedules/api.tick/occurrences?limit=100')
    ).json();
    const ok = occurrences.find((o: { status: string }) => o.status === 'succeeded');
    assert.ok(ok.lagMs >= 0 && ok.lagMs < 5_000, `lag ${ok.lagMs}`);
    assert.ok(ok.durationMs >= 0, 'duration when the end was seen');
    assert.match(ok.taskId, /^[0-9a-f-]{36}$/);
    const skipped = (
      await call(api.url, 'GET', '/api/v1/schedules/api.tick/occurrences?status=skipped_overlap,missed')
    ).json().occurrences;
    assert.ok(skipped.length > 0);
    assert.ok(
      skipped.every((o: { status: string; error: string }) => o.status === 'skipped_overlap' && o.error),
    );
    const page = (await call(api.url, 'GET', '/api/v1/schedules/api.tick/occurrences?limit=1')).json();
    assert.equal(page.occurrences.length, 1);
    const older = (
      await call(api.url, 'GET', `/api/v1/schedules/api.tick/occurrences?limit=1&before=${page.next}`)
    ).json();
    assert.ok(older.occurrences[0].scheduledFor < page.occurrences[0].scheduledFor);
    const timeline = (await call(api.url, 'GET', '/api/v1/schedules/api.tick/timeline?hours=1')).json();
    assert.equal(timeline.buckets.length, 96);
    const sum = (key: string) =>
      timeline.buckets.reduce((n: number, b: Record<string, number>) => n + b[key]!, 0);
    assert.ok(
      sum('ran') >= 1 && sum('problems') >= 1,
      JSON.stringify(timeline.buckets.filter((b: { ran: number }) => b.ran)),
    );
    assert.ok(sum('upcoming') >= 3_000, 'the next hour, every second');
  });

  test('GET /api/v1/now: leader, replicas, changes, lag, problems, in flight, invalid rows', async () => {
    const now = (await call(api.url, 'GET', '/api/v1/now')).json();
    assert.equal(now.leader.live, true);
    assert.equal(now.leader.holder, running.beat.holderId);
    assert.ok(now.leader.since, 'since when (from the leader history)');
    assert.equal(now.replicas[0].id, running.beat.holderId);
    assert.equal(now.replicas[0].role, 'leader');
    assert.equal(now.leaderChanges[0].cause, 'first');
    assert.ok(now.lag.runs >= 1 && now.lag.p50Ms !== null);
    assert.ok(now.problems.hour.skipped_overlap >= 1);
    assert.ok(now.problems.day.skipped_overlap >= now.problems.hour.skipped_overlap);
    assert.deepEqual(
      now.invalid.map((i: { name: string; column: string }) => [i.name, i.column]),
      [['api.bad', 'timezone']],
    );
    assert.equal(typeof now.inFlight.enqueued, 'number');
  });

  test('GET /api/v1/next-24h: per-minute counts; the herd is the heaviest minute', async () => {
    const forecast = (await call(api.url, 'GET', '/api/v1/next-24h')).json();
    assert.equal(forecast.slots.length, 1440);
    const heaviest = forecast.heaviest[0];
    assert.match(heaviest.at, /T04:17:00\.000Z$/);
    assert.ok(heaviest.fires >= 80, `${heaviest.fires}: 20 herd schedules and 60 ticks`);
    assert.equal(heaviest.schedules, 21);
    assert.equal(forecast.leftOut, 0);
  });
});

describe('changes', () => {
  test('pause, resume, trigger, disable, enable with the token: done, recorded with who', async () => {
    const headers = { ...auth, 'x-metronome-actor': 'Alice On-Call' };
    const paused = await call(api.url, 'POST', '/api/v1/schedules/herd.1/pause', {
      headers,
      body: JSON.stringify({ reason: 'broker maintenance' }),
    });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.json().schedule.state, 'paused');
    assert.equal(paused.json().schedule.pausedReason, 'broker maintenance');
    const [row] = await pg.sql<{ paused_reason: string }[]>`
      select paused_reason from metronome.schedules where name = 'herd.1'`;
    assert.equal(row?.paused_reason, 'broker maintenance');
    const resumed = await call(api.url, 'POST', '/api/v1/schedules/herd.1/resume', { headers });
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.json().changed, true);
    assert.equal(
      (await call(api.url, 'POST', '/api/v1/schedules/herd.1/resume', { headers })).json().changed,
      false,
    );
    const triggered = await call(api.url, 'POST', '/api/v1/schedules/herd.2/trigger', {
      headers,
      body: '{"force": true, "wait": 5}',
    });
    assert.equal(triggered.status, 200, triggered.text);
    assert.match(triggered.json().status, /^(enqueued|running)$/);
    assert.ok(transport.enqueued.some((e) => e.taskId === triggered.json().taskId));
    assert.equal((await call(api.url, 'POST', '/api/v1/schedules/herd.3/disable', { headers })).status, 200);
    assert.equal(
      (await call(api.url, 'POST', '/api/v1/schedules/herd.3/enable', { headers, body: '{}' })).status,
      200,
    );
    const actions = (await call(api.url, 'GET', '/api/v1/actions?limit=10')).json().actions;
    assert.deepEqual(
      actions.map((a: { action: string; schedule: string }) => `${a.action} ${a.schedule}`),
      ['enable herd.3', 'disable herd.3', 'trigger herd.2', 'resume herd.1', 'pause herd.1'],
    );
    assert.ok(
      actions.every(
        (a: { actor: string; via: string; address: string }) =>
          a.actor === 'Alice On-Call' && a.via === 'api' && /127\.0\.0\.1/.test(a.address),
      ),
    );
    assert.equal(actions[4].detail.reason, 'broker maintenance');
  });

  test('a schedule declared in code: enable and disable are refused (409) with where to edit it', async () => {
    for (const verb of ['disable', 'enable']) {
      const reply = await call(api.url, 'POST', `/api/v1/schedules/api.nightly/${verb}`, { headers: auth });
      await refused(reply, 409, 'managed_by_code');
      assert.match(reply.json().error.message, /schedules\/reports\.ts/);
    }
  });

  test('live: the event stream says when something changed', async () => {
    const controller = new AbortController();
    const response = await fetch(`${api.url}/api/v1/events`, { signal: controller.signal });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = response.body!.getReader();
    let text = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended: ${text}`);
        text += new TextDecoder().decode(value);
      }
    };
    await until(/event: hello/);
    await call(api.url, 'POST', '/api/v1/schedules/herd.4/pause', { headers: auth, body: '{}' });
    await until(/event: change\ndata: \{"parts":\[[^\]]*"schedules"/);
    controller.abort();
  });
});

const MUTATIONS = ['pause', 'resume', 'trigger', 'enable', 'disable'];
const READS = ['', '/occurrences', '/timeline'];

describe('bad requests get a clear 4xx, never a 500', () => {
  test('a token is required for every mutation; a read-only beat refuses them all', async () => {
    for (const verb of MUTATIONS) {
      const path = `/api/v1/schedules/herd.5/${verb}`;
      const none = await call(api.url, 'POST', path, {
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      await refused(none, 401, 'token_required');
      assert.match(String(none.headers['www-authenticate']), /^Bearer/);
      await refused(
        await call(api.url, 'POST', path, {
          headers: { ...auth, authorization: 'Bearer wrong-token-0123456789' },
          body: '{}',
        }),
        401,
        'token_invalid',
      );
      await refused(
        await call(api.url, 'POST', path, { headers: { ...auth, authorization: TOKEN }, body: '{}' }),
        401,
      );
      await refused(await call(readOnly.url, 'POST', path, { headers: auth, body: '{}' }), 403, 'read_only');
    }
    const [row] = await pg.sql<{ paused_at: Date | null; enabled: boolean }[]>`
      select paused_at, enabled from metronome.schedules where name = 'herd.5'`;
    assert.deepEqual(row, { paused_at: null, enabled: true }, 'nothing changed');
  });

  test('another site: refused by Origin or Sec-Fetch-Site even with the token; no CORS is granted', async () => {
    for (const headers of [
      { ...auth, origin: 'https://evil.example' },
      { ...auth, origin: 'null' },
      { ...auth, 'sec-fetch-site': 'cross-site' },
    ]) {
      await refused(
        await call(api.url, 'POST', '/api/v1/schedules/herd.5/pause', { headers, body: '{}' }),
        403,
        'cross_site',
      );
    }
    const sameOrigin = await call(api.url, 'POST', '/api/v1/schedules/herd.5/resume', {
      headers: { ...auth, origin: api.url, 'sec-fetch-site': 'same-origin' },
    });
    assert.equal(sameOrigin.status, 200, sameOrigin.text);
    const preflight = await call(api.url, 'OPTIONS', '/api/v1/schedules/herd.5/pause', {
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    await refused(preflight, 405);
    assert.equal(preflight.headers['access-control-allow-origin'], undefined);
  });

  test('a Host that is not loopback (DNS rebinding) is refused on a loopback bind', async () => {
    await refused(
      await call(api.url, 'GET', '/api/v1/schedules', { headers: { host: 'evil.example' } }),
      403,
      'host_not_allowed',
    );
    const page = await call(api.url, 'GET', '/', { headers: { host: 'evil.example:9464' } });
    assert.equal(page.status, 403);
    assert.match(page.text, /answers only to localhost names/);
    assert.equal(
      (await call(api.url, 'GET', '/api/v1', { headers: { host: 'localhost:9464' } })).status,
      200,
    );
  });

  test('unknown names: 404 on every endpoint that takes one', async () => {
    for (const suffix of READS)
      await refused(await call(api.url, 'GET', `/api/v1/schedules/nope${suffix}`), 404, 'not_found');
    for (const verb of MUTATIONS) {
      const reply = await call(api.url, 'POST', `/api/v1/schedules/nope/${verb}`, {
        headers: auth,
        body: '{}',
      });
      await refused(reply, 404, 'not_found');
      assert.match(reply.json().error.message, /no schedule named "nope"/);
    }
    await refused(await call(api.url, 'GET', '/api/v1/schedules/%E0%A4%A'), 400, 'bad_name');
    await refused(await call(api.url, 'GET', '/api/v1/nope'), 404, 'no_such_endpoint');
    await refused(await call(api.url, 'GET', '/api/v1/schedules/herd.1/nope'), 404);
  });

  test('bad JSON, not an object, unknown or mistyped fields, wrong content type: 400 or 415', async () => {
    for (const verb of MUTATIONS) {
      const path = `/api/v1/schedules/herd.6/${verb}`;
      await refused(
        await call(api.url, 'POST', path, { headers: auth, body: '{"reason": ' }),
        400,
        'bad_json',
      );
      await refused(await call(api.url, 'POST', path, { headers: auth, body: '[1, 2]' }), 400, 'bad_body');
      await refused(
        await call(api.url, 'POST', path, { headers: auth, body: '{"typo": 1}' }),
        400,
        'bad_body',
      );
      await refused(
        await call(api.url, 'POST', path, { headers: { ...auth, 'content-type': 'text/plain' }, body: '{}' }),
        415,
      );
    }
    const pause = '/api/v1/schedules/herd.6/pause';
    await refused(await call(api.url, 'POST', pause, { headers: auth, body: '{"reason": 42}' }), 400);
    await refused(
      await call(api.url, 'POST', pause, {
        headers: auth,
        body: JSON.stringify({ reason: 'x'.repeat(501) }),
      }),
      400,
    );
    const trigger = '/api/v1/schedules/herd.6/trigger';
    await refused(await call(api.url, 'POST', trigger, { headers: auth, body: '{"force": "yes"}' }), 400);
    await refused(await call(api.url, 'POST', trigger, { headers: auth, body: '{"wait": 60}' }), 400);
  });

  test('an oversized body: 413', async () => {
    for (const verb of MUTATIONS) {
      const body = JSON.stringify({ reason: 'x'.repeat(64 * 1024) });
      await refused(
        await call(api.url, 'POST', `/api/v1/schedules/herd.6/${verb}`, { headers: auth, body }),
        413,
        'body_too_large',
      );
    }
  });

  test('wrong methods: 405 with Allow', async () => {
    for (const verb of MUTATIONS) {
      const reply = await call(api.url, 'GET', `/api/v1/schedules/herd.6/${verb}`);
      await refused(reply, 405, 'method_not_allowed');
      assert.equal(reply.headers.allow, 'POST');
    }
    // The collection and a schedule take writes too (test/http/writes.test.ts), but not every verb.
    const collection = await call(api.url, 'DELETE', '/api/v1/schedules', { headers: auth, body: '{}' });
    await refused(collection, 405);
    assert.equal(collection.headers.allow, 'GET, HEAD, POST');
    const one = await call(api.url, 'POST', '/api/v1/schedules/herd.6', { headers: auth, body: '{}' });
    await refused(one, 405);
    assert.equal(one.headers.allow, 'GET, HEAD, PUT, PATCH, DELETE');
    for (const path of [
      '/api/v1',
      '/api/v1/now',
      '/api/v1/next-24h',
      '/api/v1/events',
      '/api/v1/actions',
      '/api/v1/schedules/herd.6/occurrences',
      '/api/v1/schedules/herd.6/timeline',
    ]) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const reply = await call(api.url, method, path, { headers: auth, body: '{}' });
        await refused(reply, 405);
        assert.equal(reply.headers.allow, 'GET, HEAD');
      }
    }
    assert.equal((await call(api.url, 'DELETE', '/')).status, 405);
  });

  test('bad parameters: 400 naming the parameter and what it accepts', async () => {
    for (const query of [
      '/api/v1/schedules?limit=0',
      '/api/v1/schedules?limit=abc',
      '/api/v1/schedules?offset=-1',
      '/api/v1/schedules?state=sleeping',
      '/api/v1/schedules?kind=weekly',
      '/api/v1/schedules?managedBy=ops',
      `/api/v1/schedules?q=${'x'.repeat(300)}`,
      '/api/v1/schedules/herd.6/occurrences?status=done',
      '/api/v1/schedules/herd.6/occurrences?before=yesterday',
      '/api/v1/schedules/herd.6/occurrences?limit=5000',
      '/api/v1/schedules/herd.6/timeline?hours=999',
      '/api/v1/actions?limit=x',
    ]) {
      const reply = await call(api.url, 'GET', query);
      await refused(reply, 400, 'bad_parameter');
      const name = new URL(query, api.url).searchParams.keys().next().value as string;
      assert.match(reply.json().error.message, new RegExp(`^${name}=`));
    }
  });

  test('/healthz, /readyz and /metrics answer beside the API', async () => {
    const health = await call(api.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.json(), { live: true, reasons: [] });
    assert.deepEqual((await call(api.url, 'GET', '/readyz')).json().role, 'leader');
    assert.match((await call(api.url, 'GET', '/metrics')).text, /metronome_leader 1/);
    assert.equal((await call(api.url, 'POST', '/healthz')).status, 405);
    assert.equal((await call(api.url, 'GET', '/nope')).status, 404);
  });
});
