/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard in a real headless Chromium, served by a real `beat` process on real Postgres: the
 * page lists the running beat's schedules and filters them as you type; a schedule page shows its
 * history after runs and keeps updating without a reload; pausing through the page is refused
 * without the token and done with it (in the database, recorded); the 24-hour view shows a herd
 * the test created; every page is keyboard- and screen-reader-friendly, readable on a phone and in
 * dark mode, and loads nothing from anywhere else.
 *
 * Screenshots go to a temporary folder, or to docs/screenshots/ with METRONOME_SCREENSHOTS=1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { BeatProcess, eventually, STARTUP_MS } from '../support/beat-process.ts';
import { type Browser, launchChromium } from '../support/browser.ts';
import { beatChild, ROOT } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

const TOKEN = 'browser-test-token-0123456789';
const HERD = 60;
const SHOTS = process.env.METRONOME_SCREENSHOTS
  ? path.join(ROOT, 'docs/screenshots')
  : mkdtempSync(path.join(tmpdir(), 'metronome-shots-'));

let pg: TestDatabase;
let beat: BeatProcess;
let base: string;
let browser: Browser;
let herdMinute: string;
const problems: string[] = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  pg = await createTestDatabase();
  const env = {
    DATABASE_URL: pg.url,
    METRONOME_HTTP: '127.0.0.1:0',
    METRONOME_API_TOKEN: TOKEN,
    METRONOME_LEASE_TTL: '2s',
    METRONOME_SYNC_ON_START: 'true',
    REDIS_URL: '',
  };
  const migrate = await beatChild(['migrate'], { env });
  assert.equal(migrate.code, 0, migrate.stderr);
  // A herd: 60 schedules at one minute, two hours from now (well clear of a minute boundary).
  const at = new Date(Date.now() + 2 * 3_600_000);
  herdMinute = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  for (let i = 0; i < HERD; i++) {
    await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by, queue)
                 values (${`herd.report_${String(i).padStart(2, '0')}`}, 'reports.tenant', 'crontab',
                         ${`${at.getUTCMinutes()} ${at.getUTCHours()} * * *`}, 'UTC', 'db', 'reports')`;
  }
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, description)
               values ('ops.heartbeat', 'ops.tasks.heartbeat', 'interval', 1000, 'db', 'Liveness ping every second')`;
  // Down for an hour: the catch-up policy runs the latest slot and records the others missed.
  await pg.sql`insert into metronome.schedules (name, task, kind, every_ms, managed_by, catchup, next_fire_at)
               values ('reports.every_10m', 'reports.tasks.refresh', 'interval', 600000, 'db', 'latest',
                       now() - interval '65 minutes')`;
  // A local-time crontab whose policy runs a repeated 02:30 twice and skips a missing one.
  await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, dst_policy, managed_by)
               values ('night.berlin', 'night.tasks.sweep', 'crontab', '30 2 * * *', 'Europe/Berlin',
                       'repeated=both,missing=skip', 'db')`;
  await pg.sql`insert into metronome.schedules (name, task, kind, cron, timezone, managed_by)
               values ('billing.retry', 'billing.tasks.retry', 'crontab', '0 9 * * 1-5', 'Moon/Base', 'db')`;
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

/** The text of an element (textContent: the rendered words, without layout). */
async function text(page: Page, selector: string): Promise<string> {
  return (await page.textContent(selector)) ?? '';
}

/** A page that records script errors and any request that leaves the beat. */
async function open(url: string, options: { width?: number } = {}): Promise<Page> {
  const page = await browser.context.newPage();
  if (options.width) await page.setViewportSize({ width: options.width, height: 900 });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs the refused action (a 401 the test asks for) as a failed load: not a problem.
    if (message.type() === 'error' && !/status of 401/.test(message.text())) {
      problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(base)) problems.push(`request elsewhere: ${request.url()}`);
  });
  await page.goto(`${base}${url}`);
  await page.waitForSelector('#live-status.on', { timeout: 10_000 });
  return page;
}

/** What a keyboard and screen-reader user needs on every page. */
async function checkAccessible(page: Page): Promise<void> {
  const report = await page.evaluate(() => {
    const unlabelled = [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => (el as HTMLInputElement).type !== 'hidden')
      .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80));
    const imagesWithoutAlt = [...document.querySelectorAll('img:not([alt])')].length;
    const h1 = document.querySelectorAll('h1').length;
    const nameless = [...document.querySelectorAll('a, button')]
      .filter((el) => !(el.textContent ?? '').trim() && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80));
    return { unlabelled, imagesWithoutAlt, h1, nameless, lang: document.documentElement.lang };
  });
  assert.deepEqual(report, { unlabelled: [], imagesWithoutAlt: 0, h1: 1, nameless: [], lang: 'en' });
  // The first Tab lands on the skip link, which moves focus to the content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
}

/**
 * The lowest WCAG contrast of text on its background among badges, buttons, links and secondary
 * text (4.5:1 is the bar for normal text). A string: tsx's helpers do not exist in the page.
 */
const WORST_CONTRAST = `(() => {
  const rgb = (css) => (css.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const clear = (bg) => /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg);
  let worst = 21;
  for (const el of document.querySelectorAll('.badge, .button, .sub, .muted, a, td, th')) {
    let bg = 'rgba(0, 0, 0, 0)';
    for (let node = el; node && clear(bg); node = node.parentElement) bg = getComputedStyle(node).backgroundColor;
    if (clear(bg)) bg = getComputedStyle(document.documentElement).backgroundColor;
    const a = lum(rgb(getComputedStyle(el).color));
    const b = lum(rgb(bg));
    worst = Math.min(worst, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
  }
  return worst;
})()`;

async function badgeContrasts(page: Page): Promise<number> {
  return (await page.evaluate(WORST_CONTRAST)) as number;
}

test('the page lists the schedules of the running beat, and filters them as you type', async () => {
  const page = await open('/');
  const names = await page.$$eval('table.schedules tbody tr', (rows) =>
    rows.map((r) => r.getAttribute('data-name')),
  );
  for (const name of ['ops.heartbeat', 'tasks.add', 'reports.nightly', 'home.lights_on', 'herd.report_00']) {
    assert.ok(names.includes(name), `${name} listed`);
  }
  const nightly = page.locator('tr[data-name="reports.nightly"]');
  assert.match((await nightly.textContent()) ?? '', /02:30 Europe\/Berlin/);
  assert.match((await nightly.textContent()) ?? '', /code/);
  const invalid = (await page.locator('tr[data-name="billing.retry"]').textContent()) ?? '';
  assert.match(invalid, /invalid/);
  assert.match(invalid, /timezone: timezone "Moon\/Base" is invalid/);
  assert.ok((await badgeContrasts(page)) >= 4.5, 'text contrast at least 4.5:1 (light)');
  await page.screenshot({ path: path.join(SHOTS, 'schedules.png') });
  await checkAccessible(page);

  await page.fill('input[name=q]', 'heartbeat');
  await page.waitForFunction(() => document.querySelectorAll('table.schedules tbody tr').length === 1);
  assert.match(page.url(), /\?q=heartbeat$/);
  await page.selectOption('select[name=state]', 'invalid');
  await page.fill('input[name=q]', '');
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll('table.schedules tbody tr')]
        .map((r) => r.getAttribute('data-name'))
        .join() === 'billing.retry',
  );
  await page.close();
});

test('a schedule page shows its run history after runs, and keeps updating without a reload', async () => {
  const page = await open('/schedules/ops.heartbeat');
  await page.waitForFunction(
    () => document.querySelectorAll('#history tr[data-status=succeeded]').length >= 3,
  );
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 42;
  });
  const before = await page.$$eval('#history tbody tr', (rows) => rows.length);
  await page.waitForFunction((n) => document.querySelectorAll('#history tbody tr').length > n, before, {
    timeout: 15_000,
  });
  assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'no reload');
  const row = (await page.locator('#history tr[data-status=succeeded]').first().textContent()) ?? '';
  assert.match(row, /succeeded/);
  assert.match(row, /[0-9a-f]{8}-[0-9a-f]{4}-/, 'task id');
  assert.match(row, /\d+ ms/, 'lag');
  assert.match((await page.locator('#timeline svg').getAttribute('aria-label')) ?? '', /runs and 0 missed/);
  await page.screenshot({ path: path.join(SHOTS, 'schedule.png'), fullPage: true });
  await checkAccessible(page);
  await page.close();
});

test('missed slots are listed with their reasons', async () => {
  const page = await open('/schedules/reports.every_10m');
  await page.waitForSelector('#problems tr[data-status=missed]');
  const missed = (await page.locator('#problems tr[data-status=missed]').first().textContent()) ?? '';
  assert.match(missed, /missed/);
  assert.match(missed, /catch-up|later slot/);
  assert.match(await text(page, '#history'), /succeeded/, 'the latest slot ran');
  await page.close();
});

test('pausing through the page: refused without the token, done with it, recorded', async () => {
  const page = await open('/schedules/herd.report_07');
  await page.fill('#pause-reason', 'tenant migration');
  await page.click('form[data-action=pause] button');
  await page.waitForSelector('#action-status.bad');
  assert.match(await text(page, '#action-status'), /Refused \(401\).*token/);
  const paused = async () =>
    (
      await pg.sql<{ paused_at: Date | null; paused_reason: string | null }[]>`
      select paused_at, paused_reason from metronome.schedules where name = 'herd.report_07'`
    )[0]!;
  assert.equal((await paused()).paused_at, null, 'not paused without the token');

  // The token dialog, by keyboard.
  await page.focus('#token-button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#token-dialog[open]');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Dana (on call)');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('token-button')?.textContent === 'Token set');

  await page.fill('#pause-reason', 'tenant migration');
  await page.click('form[data-action=pause] button');
  await page.waitForSelector('#action-status.ok');
  assert.match(await text(page, '#action-status'), /Paused herd\.report_07/);
  const row = await paused();
  assert.ok(row.paused_at, 'paused in the database');
  assert.equal(row.paused_reason, 'tenant migration');
  const [audit] = await pg.sql<{ actor: string; via: string; action: string }[]>`
    select actor, via, action from metronome.audit_log where schedule_name = 'herd.report_07'`;
  assert.deepEqual(audit, { actor: 'Dana (on call)', via: 'api', action: 'pause' });
  // The page shows it without a reload: the state, and Resume in place of Pause.
  await page.waitForSelector('form[data-action=resume]');
  assert.match(await text(page, '#headline'), /paused\s+tenant migration/);
  await page.screenshot({ path: path.join(SHOTS, 'schedule-paused.png'), fullPage: false });
  await page.click('form[data-action=resume] button');
  await page.waitForSelector('form[data-action=pause]');
  assert.equal((await paused()).paused_at, null);
  await page.close();
});

test('backfilling through the page: the slots listed first, then sent by the leader, marked in the history', async () => {
  const page = await open('/schedules/reports.every_10m');
  await page.focus('#token-button');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#token-dialog[open]');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Tab');
  await page.keyboard.type('Dana (on call)');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('token-button')?.textContent === 'Token set');
  // The hour the beat was down: its slots recorded missed (never sent) are sent; the one sent is not.
  const from = new Date(Date.now() - 70 * 60_000).toISOString();
  await page.fill('#backfill-from', from);
  await page.fill('#backfill-to', 'now');
  await page.fill('#backfill-rate', '10/s');
  await page.click('form[data-action=backfill] button[value=dry]');
  await page.waitForSelector('#action-status.ok');
  const listed = await text(page, '#action-status');
  assert.match(listed, /reports\.every_10m: \d+ slots \(.*\), \d+ to send; nothing recorded\./);
  assert.equal((await pg.sql`select 1 from metronome.backfills`).length, 0, 'listing records nothing');
  await page.click('form[data-action=backfill] button[value=run]');
  await page.waitForFunction(() =>
    /Backfill #\d+ of/.test(document.getElementById('action-status')?.textContent ?? ''),
  );
  assert.match(
    await text(page, '#action-status'),
    /Backfill #1 of reports\.every_10m recorded: \d+ of \d+ slots/,
  );
  // Without a reload: the backfill done, its runs in the history with their mark.
  await page.waitForFunction(
    () => /done/.test(document.querySelector('#backfills tr[data-backfill="1"]')?.textContent ?? ''),
    undefined,
    { timeout: 20_000 },
  );
  await page.waitForSelector('#history .tag:has-text("backfill #1")', { timeout: 10_000 });
  const [row] = await pg.sql<{ n: number }[]>`
    select count(*)::int as n from metronome.occurrences where backfill_id = 1 and status = 'succeeded'`;
  assert.ok((row?.n ?? 0) >= 5, `the missed slots were sent (${row?.n})`);
  await page.screenshot({ path: path.join(SHOTS, 'schedule-backfill.png'), fullPage: false });
  await page.close();
  // The form's fields are labelled, the page still keyboard-friendly.
  const fresh = await open('/schedules/reports.every_10m');
  await checkAccessible(fresh);
  await fresh.close();
});

/** Set the API token (and an actor name) in a page, through the token dialog. */
async function setToken(page: Page, actor: string): Promise<void> {
  await page.click('#token-button');
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-input', TOKEN);
  await page.fill('#actor-input', actor);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('token-button')?.textContent === 'Token set');
}

test('skip the next two through the page: recorded skipped with the reason, shown in the ledger; cleared', async () => {
  const page = await open('/schedules/ops.heartbeat');
  await setToken(page, 'Sam (ops)');
  await page.fill('#skip-count', '2');
  await page.fill('#skip-reason', 'broker failover drill');
  await page.click('form[data-action=skip] button');
  await page.waitForSelector('#action-status.ok');
  assert.match(await text(page, '#action-status'), /Skipping the next occurrences of ops\.heartbeat/);
  // Every second: both are taken within a few seconds, and listed with the operator's reason.
  await page.waitForFunction(
    () => document.querySelectorAll('#problems tr[data-status=skipped]').length >= 2,
    null,
    {
      timeout: 15_000,
    },
  );
  const skipped = (await page.locator('#problems tr[data-status=skipped]').first().textContent()) ?? '';
  assert.match(skipped, /skipped: broker failover drill/);
  const rows = await pg.sql<{ n: number }[]>`
    select count(*)::int as n from metronome.occurrences where schedule_name = 'ops.heartbeat' and status = 'skipped'`;
  assert.equal(rows[0]?.n, 2, 'exactly two skipped');
  const [audit] = await pg.sql<{ actor: string; action: string }[]>`
    select actor, action from metronome.audit_log where schedule_name = 'ops.heartbeat' order by id desc limit 1`;
  assert.deepEqual(audit, { actor: 'Sam (ops)', action: 'skip' });
  // A skip still pending is shown, and can be cleared.
  await page.fill('#skip-count', '10000');
  await page.fill('#skip-reason', 'hold everything');
  await page.click('form[data-action=skip] button');
  await page.waitForSelector('#skip-pending');
  await page.waitForFunction(() =>
    /skipping the next \d+ \(hold everything\)/.test(document.getElementById('headline')?.textContent ?? ''),
  );
  assert.ok(
    (await page.locator('#next-fires tr[data-skipped]').count()) > 0,
    'the next fires are marked skipped',
  );
  await page.screenshot({ path: path.join(SHOTS, 'schedule-skip.png'), fullPage: false });
  await page.click('form[data-action=clear-skip] button');
  await page.waitForFunction(() => !document.getElementById('skip-pending'));
  const [left] = await pg.sql<{ skip_count: number }[]>`
    select skip_count from metronome.schedules where name = 'ops.heartbeat'`;
  assert.equal(left?.skip_count, 0);
  // The new forms are labelled and reachable: checked on a fresh load (focus at the start).
  await page.reload();
  await page.waitForSelector('#live-status.on', { timeout: 10_000 });
  await checkAccessible(page);
  await page.close();
});

test('pause until an instant through the page: shown as paused until T with the reason', async () => {
  const page = await open('/schedules/herd.report_08');
  await setToken(page, 'Sam (ops)');
  await page.fill('#pause-reason', 'quarter close');
  await page.fill('#pause-until', '2h');
  await page.click('form[data-action=pause] button');
  await page.waitForSelector('form[data-action=resume]');
  const [row] = await pg.sql<{ until_ms: number }[]>`
    select (extract(epoch from paused_until - paused_at) * 1000)::float8 as until_ms
    from metronome.schedules where name = 'herd.report_08'`;
  assert.ok(Math.abs(Number(row?.until_ms) - 7_200_000) < 5_000, `paused for two hours: ${row?.until_ms}`);
  assert.match(
    await text(page, '#headline'),
    /until \d{4}-\d{2}-\d{2}T[\d:.]+Z \(resumes by itself\): quarter close/,
  );
  await page.close();
});

test("a local-time crontab's page marks what its DST policy does at the coming clock changes", async () => {
  const page = await open('/schedules/night.berlin');
  await page.waitForSelector('#dst-changes li');
  assert.match(
    await text(page, '#dst-policy'),
    /DST policy: a time that occurs twice runs at both; a time that does not exist is skipped/,
  );
  const outcomes = await page.$$eval('#dst-changes li', (items) =>
    items.map((li) => li.getAttribute('data-outcome')),
  );
  assert.ok(outcomes.includes('skipped') && outcomes.includes('both'), `both kinds of change: ${outcomes}`);
  const changes = await text(page, '#dst-changes');
  assert.match(changes, /skipped.*02:30:00 does not exist: skipped, no run/s);
  assert.match(changes, /runs twice.*02:30:00 occurs twice: both, runs 02:30:00 \+02:00 .*02:30:00 \+01:00/s);
  await page.close();
});

test('the next 24 hours show the herd the test created', async () => {
  const page = await open('/next-24h');
  const [minute, fires, schedules] = await page
    .locator('#heaviest tbody tr')
    .first()
    .locator('td')
    .allTextContents();
  assert.match(minute ?? '', new RegExp(`${herdMinute}Z`));
  assert.ok(Number(fires) >= HERD, `${fires} fires in the herd's minute`);
  assert.ok(Number(schedules) >= HERD, `${schedules} schedules in the herd's minute`);
  assert.ok((await page.locator('svg.forecast rect.heavy').count()) >= 1, 'the herd stands out in the chart');
  await page.screenshot({ path: path.join(SHOTS, 'next-24h.png'), fullPage: true });
  await checkAccessible(page);
  await page.close();
});

test('Now: the leader, since when, the replicas', async () => {
  const page = await open('/now');
  const leader = await text(page, '#leader');
  const holder = String(beat.logs.find((l) => l.msg === 'leading')?.holder);
  assert.ok(leader.includes(holder), `${holder} in ${leader}`);
  assert.match(leader, /Since\s*\d{4}-\d\d-\d\d/);
  assert.match(await text(page, '#replicas'), /leader/);
  assert.match(await text(page, '#leader-changes'), /first/);
  await page.screenshot({ path: path.join(SHOTS, 'now.png'), fullPage: true });
  await checkAccessible(page);
  await page.close();
});

test('readable on a phone and in dark mode; nothing loaded from elsewhere; no script errors', async () => {
  for (const url of ['/', '/schedules/ops.heartbeat', '/now', '/next-24h']) {
    const page = await open(url, { width: 390 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${url}: no sideways scrolling on a phone (${overflow}px)`);
    if (url === '/') await page.screenshot({ path: path.join(SHOTS, 'phone.png') });
    await page.close();
  }
  const dark = await launchChromium({ colorScheme: 'dark' });
  try {
    const page = await dark.context.newPage();
    await page.goto(`${base}/schedules/ops.heartbeat`);
    await page.waitForSelector('#live-status.on');
    assert.notEqual(
      await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor),
      'rgb(255, 255, 255)',
    );
    assert.ok((await badgeContrasts(page)) >= 4.5, 'text contrast at least 4.5:1 (dark)');
    await page.screenshot({ path: path.join(SHOTS, 'schedule-dark.png'), fullPage: false });
    await page.close();
  } finally {
    await dark.close();
  }
  assert.deepEqual(problems, []);
});

test('the API the page uses answers in the browser too (same origin, read-only without a token)', async () => {
  const page = await open('/');
  const result = await page.evaluate(async () => {
    const list = await fetch('/api/v1/schedules?q=heartbeat').then((r) => r.json());
    const refused = await fetch('/api/v1/schedules/ops.heartbeat/pause', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    return { names: list.schedules.map((s: { name: string }) => s.name), status: refused.status };
  });
  assert.deepEqual(result, { names: ['ops.heartbeat'], status: 401 });
  await page.close();
  await eventually('the beat still leads', 5_000, () => beat.hasLog('leading'));
});
