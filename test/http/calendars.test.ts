/**
 * Business calendars over HTTP, on real Postgres with a leading beat: the API reads and writes them
 * (writes behind the token, refused for a calendar declared in code), a schedule's detail lists the
 * slots its calendars skip and marks the fires they move, and the dashboard's schedule page shows
 * both.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { eventually } from '../support/beat-process.ts';
import { ControlledTransport } from '../support/controlled-transport.ts';
import { call, type MountedDashboard, mountDashboard } from '../support/http.ts';
import { type InProcessBeat, startInProcessBeat } from '../support/in-process-beat.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
let pg: TestDatabase;
let running: InProcessBeat;
let api: MountedDashboard;
let readOnly: MountedDashboard;

before(async () => {
  pg = await createTestDatabase();
  running = await startInProcessBeat(pg.url, new ControlledTransport(), { lockPrefix: `cal-${Date.now()}:` });
  await eventually('leadership', 5_000, () => running.beat.leading);
  const options = {
    database: running.database,
    locks: running.locks,
    group: 'default',
    log: createLogger({ level: 'silent' }),
  };
  const readiness = () => running.beat.readiness();
  api = await mountDashboard({ ...options, token: TOKEN, livePollMs: 200 }, running.metrics, readiness);
  readOnly = await mountDashboard({ ...options, token: undefined }, running.metrics, readiness);
});

after(async () => {
  await api?.close();
  await readOnly?.close();
  await running?.stop();
  await pg?.drop();
});

test('calendars are read and written through the API; a schedule shows what they skip and move', async () => {
  const put = await call(api.url, 'PUT', '/api/v1/calendars/weekends', {
    headers: auth,
    body: JSON.stringify({ weekdays: ['sat', 'sun'], description: 'Saturdays and Sundays' }),
  });
  assert.equal(put.status, 201, put.text);
  assert.deepEqual(put.json().weekdays, ['sun', 'sat']);
  const list = (await call(api.url, 'GET', '/api/v1/calendars')).json();
  assert.deepEqual(
    list.calendars.map((c: { name: string }) => c.name),
    ['weekends'],
  );
  for (const [name, onExcluded] of [
    ['cal.skip', 'skip'],
    ['cal.next', 'next'],
  ]) {
    const made = await call(api.url, 'POST', '/api/v1/schedules', {
      headers: auth,
      body: JSON.stringify({
        name,
        task: 't',
        schedule: { kind: 'crontab', cron: '0 9 * * *', timezone: 'Europe/Berlin' },
        calendars: ['weekends'],
        onExcluded,
      }),
    });
    assert.equal(made.status, 201, made.text);
    assert.deepEqual(made.json().schedule.calendars, ['weekends']);
  }
  const skip = (await call(api.url, 'GET', '/api/v1/schedules/cal.skip')).json();
  assert.ok(skip.skippedFires.length >= 2, JSON.stringify(skip.skippedFires));
  assert.match(skip.skippedFires[0].calendar, /skipped \(calendar "weekends"\)$/);
  for (const f of skip.nextFires) {
    const day = new Date(f.utc).getUTCDay();
    assert.ok(day !== 0 && day !== 6, `fires on weekdays only: ${f.utc}`);
  }
  const moved = (await call(api.url, 'GET', '/api/v1/schedules/cal.next')).json();
  assert.ok(
    moved.nextFires.some((f: { calendar: string | null }) =>
      /^moved from .* \(calendar "weekends"\)/.test(f.calendar ?? ''),
    ),
    JSON.stringify(moved.nextFires),
  );
  // ?preview=true: each schedule naming the calendar, before and after; nothing written.
  const preview = await call(api.url, 'PUT', '/api/v1/calendars/weekends?preview=true', {
    headers: auth,
    body: JSON.stringify({ weekdays: [] }),
  });
  assert.equal(preview.status, 200, preview.text);
  const previewed = preview.json();
  assert.deepEqual(
    previewed.schedules.map((p: { name: string; firesChange: boolean }) => [p.name, p.firesChange]),
    [
      ['cal.next', true],
      ['cal.skip', true],
    ],
  );
  assert.deepEqual((await call(api.url, 'GET', '/api/v1/calendars/weekends')).json().weekdays, [
    'sun',
    'sat',
  ]);
  const page = await call(api.url, 'GET', '/schedules/cal.skip');
  assert.equal(page.status, 200);
  assert.match(
    page.text,
    /<tr class="skipped">.*<span class="tag">skipped<\/span> calendar &quot;weekends&quot;/s,
  );
  const movedPage = await call(api.url, 'GET', '/schedules/cal.next');
  assert.match(movedPage.text, /<span class="tag info">moved<\/span> moved from/);
});

test('calendar writes are refused without a token, for a code-owned calendar, and while schedules name it', async () => {
  const denied = await call(readOnly.url, 'PUT', '/api/v1/calendars/x', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ weekdays: [] }),
  });
  assert.equal(denied.status, 403);
  await pg.sql`insert into metronome.calendars (name, managed_by, source) values ('owned', 'code', 'schedules/cal.ts')`;
  const owned = await call(api.url, 'PUT', '/api/v1/calendars/owned', { headers: auth, body: '{}' });
  assert.equal(owned.status, 409);
  assert.match(owned.json().error.message, /declared in code \(schedules\/cal\.ts\)/);
  const bad = await call(api.url, 'PUT', '/api/v1/calendars/bad', {
    headers: auth,
    body: '{"days":["2030-13-01"]}',
  });
  assert.equal(bad.status, 422);
  assert.match(bad.json().error.message, /"2030-13-01" is invalid: not a civil date/);
  const named = await call(api.url, 'DELETE', '/api/v1/calendars/weekends', { headers: auth });
  assert.equal(named.status, 409);
  assert.match(named.json().error.message, /is named by "cal\.next", "cal\.skip"/);
});
