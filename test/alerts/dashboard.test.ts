/// <reference lib="dom" />
/**
 * The dashboard's deadline section in a real headless Chromium, served by a real `beat` process
 * on real Postgres (issue 20): a schedule's last 7 days — the on-time share, the outcomes, the
 * breaches with their reasons, the alerts and the lateness distribution — from a ledger the test
 * wrote, and a live schedule with deadlines judged by the running leader. Readable by keyboard and
 * screen reader, on a phone, and loading nothing from elsewhere. The section's screenshot goes to a
 * temporary folder, or to docs/screenshots/deadlines.png with METRONOME_SCREENSHOTS=1.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BeatProcess, eventually, STARTUP_MS } from '../support/beat-process.ts';
import { type Browser, launchChromium } from '../support/browser.ts';
import { beatChild, ROOT } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let beat: BeatProcess;
let base: string;
let browser: Browser;
const problems: string[] = [];
const HOUR = 3_600_000;
/** The section's screenshot: a temporary folder, or docs/screenshots/ with METRONOME_SCREENSHOTS=1. */
const SHOTS = process.env.METRONOME_SCREENSHOTS
  ? path.join(ROOT, 'docs/screenshots')
  : mkdtempSync(path.join(tmpdir(), 'metronome-shots-'));

before(async () => {
  pg = await createTestDatabase();
  const env = {
    DATABASE_URL: pg.url,
    METRONOME_HTTP: '127.0.0.1:0',
    METRONOME_LEASE_TTL: '2s',
    METRONOME_SYNC_ON_START: 'false',
    METRONOME_DEADLINE_INTERVAL: '250ms',
    REDIS_URL: '',
  };
  const migrate = await beatChild(['migrate'], { env });
  assert.equal(migrate.code, 0, migrate.stderr);
  const [row] = await pg.sql<{ id: number }[]>`
    insert into metronome.schedules (name, task, kind, every_ms, managed_by, start_deadline_ms, finish_deadline_ms, next_fire_at)
    values ('reports.hourly', 'reports.refresh', 'interval', 3600000, 'db', 60000, 600000, now() + interval '1 hour')
    returning id`;
  // Ten hourly slots of the last days: seven on time, two late, one failed.
  const now = Date.now();
  const slots = Array.from(
    { length: 10 },
    (_, i) => new Date(Math.floor((now - (i + 2) * 7 * HOUR) / HOUR) * HOUR),
  );
  const outcomes: Array<[string, string, string, number]> = [
    ['on_time', 'succeeded', 'on time: started within 2s', 2_000],
    ['on_time', 'succeeded', 'on time: started within 3s', 3_000],
    ['started_late', 'succeeded', 'started 2m 5s after its slot, past its start deadline of 1m', 125_000],
    ['on_time', 'succeeded', 'on time: started within 4s', 4_000],
    ['failed', 'failed', "the run failed: ValueError('bad input')", 1_500],
    ['on_time', 'succeeded', 'on time', 500],
    ['on_time', 'succeeded', 'on time', 40_000],
    ['not_finished', 'succeeded', 'finished 14m after its slot, past its finish deadline of 10m', 6_000],
    ['on_time', 'succeeded', 'on time', 700],
    ['on_time', 'succeeded', 'on time', 1_200],
  ];
  for (const [i, [outcome, status, reason, lateness]] of outcomes.entries()) {
    const slot = slots[i] as Date;
    await pg.sql`insert into metronome.occurrences
      (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, started_at, finished_at, enqueued_at,
       deadline_outcome, deadline_reason, error)
      values (${row!.id}, 'reports.hourly', ${slot}, ${slot}, ${`t-${i}`}, ${status},
              ${new Date(slot.getTime() + lateness)}, ${new Date(slot.getTime() + lateness + 60_000)}, ${slot},
              ${outcome}, ${reason}, ${status === 'failed' ? "ValueError('bad input')" : null})`;
    if (outcome !== 'on_time') {
      await pg.sql`insert into metronome.alerts (key, schedule_id, schedule_name, scheduled_for, kind, reason, delivery, raised_at)
        values (${`k-${i}`}, ${row!.id}, 'reports.hourly', ${slot}, ${outcome}, ${reason}, 'none', ${new Date(slot.getTime() + 130_000)})`;
    }
  }
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, start_deadline_ms)
               values ('ops.ping', 'ops.ping', 'interval', 1000, 'db', 5000)`;
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by)
               values ('ops.plain', 'ops.plain', 'interval', 60000, 'db')`;
  beat = new BeatProcess('beat', env);
  const serving = await beat.waitForLog(
    'serving the dashboard (/) and the API (/api/v1), /healthz, /readyz and /metrics',
    20_000,
  );
  base = String(serving.dashboard).replace(/\/$/, '');
  await beat.waitForLog('leading', STARTUP_MS);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await beat?.stop();
  await pg?.drop();
});

async function open(url: string, width?: number): Promise<Page> {
  const page = await browser.context.newPage();
  if (width) await page.setViewportSize({ width, height: 900 });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base)) problems.push(`request elsewhere: ${r.url()}`);
  });
  await page.goto(`${base}${url}`);
  await page.waitForSelector('#live-status.on', { timeout: 10_000 });
  return page;
}

test('a schedule page shows the last 7 days: on-time share, breaches with reasons, alerts, lateness', async () => {
  const page = await open('/schedules/reports.hourly');
  assert.match(
    (await page.textContent('#on-time-share')) ?? '',
    /70 % on time \(7 of 10\).*1 started late.*1 not finished.*1 failed/,
  );
  const breaches = await page.$$eval('table.breaches tbody tr', (rows) =>
    rows.map((r) => [r.getAttribute('data-outcome'), r.querySelector('.error')?.textContent]),
  );
  assert.deepEqual(breaches.map(([o]) => o).sort(), ['failed', 'not_finished', 'started_late']);
  assert.ok(breaches.some(([, reason]) => /ValueError\('bad input'\)/.test(reason ?? '')));
  assert.equal(await page.locator('table.alerts tbody tr').count(), 3);
  const chart = page.locator('svg.lateness');
  assert.match(
    (await chart.getAttribute('aria-label')) ?? '',
    /2 ≤ 1s, 5 ≤ 5s, 1 ≤ 30s, 1 ≤ 1m, 1 ≤ 5m, 0 ≤ 15m/,
  );
  assert.equal(
    await chart.locator('rect.problem').count(),
    1,
    'the bucket past the start deadline stands out',
  );
  assert.match(
    (await page.textContent('#overview')) ?? '',
    /each run started within 1m and finished within 10m after its slot/,
  );
  await page
    .locator('section[aria-labelledby=deadlines-title]')
    .screenshot({ path: path.join(SHOTS, 'deadlines.png') });
  // Keyboard: the breaches table is a focusable, labelled region.
  const region = await page.getAttribute('table.breaches >> xpath=..', 'aria-labelledby');
  assert.equal(region, 'breaches-title');
  await page.close();

  const phone = await open('/schedules/reports.hourly', 390);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scrolling on a phone (${overflow} px)`);
  await phone.close();
  assert.deepEqual(problems, []);
});

test('the running leader judges a live schedule with deadlines; one without shows no section', async () => {
  const page = await open('/schedules/ops.ping');
  await eventually('ops.ping judged on time on its page', 30_000, async () => {
    await page.reload();
    return /100 % on time/.test((await page.textContent('#on-time-share').catch(() => '')) ?? '');
  });
  const report = await (await fetch(`${base}/api/v1/schedules/ops.ping/deadlines`)).json();
  assert.ok(report.judged >= 1);
  assert.equal(report.onTimeShare, 1);
  assert.equal(report.startDeadlineMs, 5000);
  await page.close();
  const plain = await open('/schedules/ops.plain');
  assert.equal(await plain.locator('#deadlines').count(), 0);
  await plain.close();
  const [row] = await pg.sql<{ n: number }[]>`select count(*)::int as n from metronome.occurrences
    where schedule_name = 'ops.plain' and deadline_outcome is not null`;
  assert.equal(row?.n, 0);
  assert.deepEqual(problems, []);
});
