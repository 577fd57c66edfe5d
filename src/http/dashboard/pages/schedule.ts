/**
 * `/schedules/NAME`: one schedule. Its actions (the API's, behind the token), its definition and
 * next fires with DST marks, who holds its run lock, a timeline of the last and next day, its run
 * history, its missed, skipped and failed rows with their reasons, and the operator actions on it.
 */

import { PROBLEM_STATUSES } from '../../../db/schema.ts';
import { type Backfill, backfillsOf } from '../../../db/sql/backfills.ts';
import { type DeadlineReport, deadlineReport } from '../../../observe/deadline-report.ts';
import { type OccurrenceView, scheduleOccurrences } from '../../../observe/history.ts';
import { type ScheduleDetail, scheduleDetail } from '../../../observe/schedule-detail.ts';
import { scheduleTimeline } from '../../../observe/timeline.ts';
import { formatDuration } from '../../../time/index.ts';
import { instantParam } from '../../api/params.ts';
import { noSchedule } from '../../api/reads.ts';
import type { Exchange } from '../../context.ts';
import { latenessChart, timelineChart } from '../charts.ts';
import { relative, shortDuration, stateBadge, statusBadge, utc } from '../format.ts';
import { type Html, html } from '../html.ts';
import { leaderPill, sendPage } from '../layout.ts';
import { actionsTable } from './now.ts';
import { stateReason } from './schedules.ts';

const HISTORY = 50;

export async function schedulePage({ res, url, params, app }: Exchange): Promise<void> {
  const name = params[0]!;
  const found = await scheduleDetail(app.database, app.locks, name);
  if (!found) throw noSchedule(name);
  const { detail, view, now } = found;
  const before = instantParam(url, 'before');
  const history = await scheduleOccurrences(app.database, name, {
    limit: HISTORY,
    ...(before ? { before } : {}),
  });
  // Skipped by an operator is no problem, but it is a slot that did not run: shown with its reason.
  const problems = await scheduleOccurrences(app.database, name, {
    limit: 20,
    statuses: [...PROBLEM_STATUSES, 'skipped'],
  });
  const timeline = await scheduleTimeline(app.database, view, now, 24);
  const deadlines = await deadlineReport(app.database, view.record, now);
  const showDeadlines =
    deadlines.startDeadlineMs !== null || deadlines.finishDeadlineMs !== null || deadlines.judged > 0;
  const backfills = await backfillsOf(app.database, name, 10);
  const s = detail.schedule;
  const path = `/api/v1/schedules/${encodeURIComponent(name)}`;
  const body = html`<p class="crumbs"><a href="/">Schedules</a> /</p>
<h1>${name}</h1>
<div data-live id="headline">
<p class="headline">${stateBadge(s.state)} ${stateReason(s)} <span class="muted">task</span> <code>${s.task}</code></p>
${detail.codeOwned ? html`<p class="notice info" id="code-owned">This schedule is ${detail.codeOwned}. Pause, resume and trigger work here; its definition and <code>enabled</code> belong to the code.</p>` : ''}
</div>
<section aria-labelledby="actions-title" class="actions">
  <h2 id="actions-title" class="visually-hidden">Actions</h2>
  <div data-live id="actions">${actionForms(detail, path)}</div>
  <p id="action-status" class="action-status" role="status" aria-live="polite"></p>
</section>
<div data-live id="overview" class="columns">
<section aria-labelledby="def-title">
  <h2 id="def-title">Definition</h2>
  ${definition(detail)}
</section>
<section aria-labelledby="next-title">
  <h2 id="next-title">Next fires <span class="muted">(${s.zone})</span></h2>
  ${nextFiresTable(detail)}
  ${dstMarks(detail)}
  <h2 id="lock-title">Run lock</h2>
  ${runLock(detail, now)}
</section>
</div>
<section aria-labelledby="timeline-title">
  <h2 id="timeline-title">Last and next 24 hours</h2>
  <div data-live id="timeline">${timelineChart(timeline)}</div>
</section>
${
  showDeadlines
    ? html`<section aria-labelledby="deadlines-title">
  <h2 id="deadlines-title">Deadlines, last ${deadlines.days} days</h2>
  <div data-live id="deadlines">${deadlineSection(deadlines)}</div>
</section>`
    : ''
}
<section aria-labelledby="history-title">
  <h2 id="history-title">Run history</h2>
  <div data-live id="history">${historyTable(history, 'Run history: newest first')}
  ${history.length === HISTORY ? html`<p><a href="?before=${encodeURIComponent(history[history.length - 1]!.scheduledFor)}">Older</a></p>` : ''}</div>
</section>
<section aria-labelledby="backfills-title">
  <h2 id="backfills-title">Backfills</h2>
  <div data-live id="backfills">${backfillTable(backfills)}${
    backfills.some((b) => b.status === 'pending' || b.status === 'running')
      ? html`<form class="action" data-action="cancel-backfill" action="${path}/backfills/cancel" method="post">
      <button type="submit" class="button quiet">Cancel backfills in progress</button></form>`
      : ''
  }</div>
</section>
<section aria-labelledby="problems-title">
  <h2 id="problems-title">Missed, skipped and failed</h2>
  <div data-live id="problems">${problems.length === 0 ? html`<p class="muted">None recorded.</p>` : historyTable(problems, 'Missed, skipped and failed occurrences with their reasons')}</div>
</section>
<section aria-labelledby="audit-title">
  <h2 id="audit-title">Operator actions</h2>
  <div data-live id="audit">${detail.actions.length === 0 ? html`<p class="muted">None recorded.</p>` : actionsTable(detail.actions, false)}</div>
</section>`;
  sendPage(res, 200, { title: name, section: 'schedules', body, leader: await leaderPill(app) }, app);
}

function actionForms(detail: ScheduleDetail, path: string): Html {
  const s = detail.schedule;
  const paused = s.state === 'paused';
  const enabled = detail.definition.enabled === true;
  return html`<div class="action-row">
  ${
    paused
      ? html`<form class="action" data-action="resume" action="${path}/resume" method="post">
      <button type="submit" class="button">Resume</button></form>`
      : html`<form class="action" data-action="pause" action="${path}/pause" method="post">
      <label for="pause-reason">Reason</label>
      <input id="pause-reason" name="reason" type="text" maxlength="500" placeholder="e.g. broker maintenance">
      <label for="pause-until">Until</label>
      <input id="pause-until" name="until" type="text" maxlength="100" placeholder="2h, or 2026-12-14T09:00:00Z" aria-describedby="pause-until-hint">
      <span id="pause-until-hint" class="sub">empty: until resumed</span>
      <button type="submit" class="button">Pause</button></form>`
  }
  ${skipForm(s, path)}
  <form class="action" data-action="trigger" action="${path}/trigger" method="post">
    <label class="check"><input type="checkbox" name="force"> even if a run is going</label>
    <button type="submit" class="button">Trigger now</button></form>
  <form class="action backfill" data-action="backfill" action="${path}/backfill" method="post">
    <label for="backfill-from">From (UTC)</label>
    <input id="backfill-from" name="from" type="text" required placeholder="2026-01-01T00:00:00Z" autocomplete="off">
    <label for="backfill-to">To</label>
    <input id="backfill-to" name="to" type="text" required placeholder="now" value="now" autocomplete="off">
    <label for="backfill-rate">Rate</label>
    <input id="backfill-rate" name="rate" type="text" size="6" placeholder="1/s" autocomplete="off">
    <label class="check"><input type="checkbox" name="confirm"> confirm more than 1,000 slots</label>
    <button type="submit" class="button quiet" name="mode" value="dry">List slots</button>
    <button type="submit" class="button" name="mode" value="run">Backfill</button></form>
  ${
    detail.codeOwned
      ? ''
      : html`<form class="action" data-action="${enabled ? 'disable' : 'enable'}" action="${path}/${enabled ? 'disable' : 'enable'}" method="post">
      <button type="submit" class="button ${enabled ? 'quiet' : ''}">${enabled ? 'Disable' : 'Enable'}</button></form>`
  }
</div>
<noscript><p class="notice">The actions need JavaScript; the JSON API takes them too (docs/api.md).</p></noscript>`;
}

/** Skip the next N (a reason is required: the ledger records it); a pending skip can be cleared. */
function skipForm(s: ScheduleDetail['schedule'], path: string): Html {
  const pending = s.skip
    ? html`<form class="action" data-action="clear-skip" data-method="DELETE" action="${path}/skip" method="post">
      <span id="skip-pending">Skipping the next ${s.skip.count} (${s.skip.reason ?? 'no reason given'})</span>
      <button type="submit" class="button quiet">Clear skip</button></form>`
    : '';
  return html`${pending}<form class="action" data-action="skip" action="${path}/skip" method="post">
      <label for="skip-count">Skip next</label>
      <input id="skip-count" name="count" type="number" min="1" max="10000" value="1" inputmode="numeric">
      <label for="skip-reason">Reason</label>
      <input id="skip-reason" name="reason" type="text" maxlength="500" required placeholder="e.g. public holiday">
      <button type="submit" class="button">Skip</button></form>`;
}

function definition(detail: ScheduleDetail): Html {
  const d = detail.definition;
  const s = detail.schedule;
  const ms = (v: unknown) => (typeof v === 'number' ? formatDuration(v) : '—');
  const rows: [string, unknown][] = [
    ['Schedule', html`${s.specWords}<span class="sub">${s.kind} · <code>${s.spec}</code></span>`],
    ['Zone', s.zone],
    ['Queue', s.queue ?? html`<span class="muted">routed by task name</span>`],
    ['Arguments', html`<code>${JSON.stringify(d.args)}</code> <code>${JSON.stringify(d.kwargs)}</code>`],
    ['Overlap', d.overlap],
    ['Exclusion group', d.exclusionGroup ?? '—'],
    ['Catch-up', html`${d.catchup} within ${ms(d.catchupWindowMs)}`],
    ['Jitter', ms(d.jitterMs)],
    ['Deadlines', deadlinesText(d.startDeadlineMs, d.finishDeadlineMs)],
    ['Window', `${utc(d.startAt as string | null)} … ${utc(d.endAt as string | null)}`],
    ['Runs', `${d.totalRuns}${d.maxRuns === null ? '' : ` of at most ${d.maxRuns}`}`],
    ['Managed by', s.managedBy === 'code' ? html`code <code>${s.source ?? ''}</code>` : 'database'],
    ['Last fire', utc(s.lastFire?.utc)],
    ['Description', s.description ?? '—'],
  ];
  return html`<dl class="fields">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

/**
 * The next fires, with the slots a business calendar skips among them (struck through, marked
 * "skipped"), and a fire a calendar moved marked "moved" with where it comes from.
 */
function nextFiresTable(detail: ScheduleDetail): Html {
  if (detail.nextFires.length === 0 && detail.skippedFires.length === 0) {
    return html`<p class="muted">No fires to come.</p>`;
  }
  const skipReason = detail.schedule.skip?.reason ?? 'no reason given';
  const rows = [
    ...detail.nextFires.map((f) => ({
      at: f.utc,
      row: html`<tr${f.dst ? html` class="dst"` : ''}${f.skipped ? html` data-skipped` : ''}><td><time datetime="${f.utc}">${utc(f.utc)}</time>${f.skipped ? html` <span class="tag">skipped</span><span class="sub">${skipReason}</span>` : ''}</td><td>${f.local}</td><td>${[
        f.dst ? html`<span class="tag warn">DST</span> ${f.dst}` : '',
        f.calendar ? html` <span class="tag info">moved</span> ${f.calendar}` : '',
      ]}</td></tr>`,
    })),
    ...detail.skippedFires.map((f) => ({
      at: f.utc,
      row: html`<tr class="skipped"><td><s><time datetime="${f.utc}">${utc(f.utc)}</time></s></td><td><s>${f.local}</s></td><td><span class="tag">skipped</span> ${f.calendar.slice(f.calendar.indexOf('(') + 1, -1)}</td></tr>`,
    })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Next fires">
<table id="next-fires"><thead><tr><th scope="col">UTC</th><th scope="col">Local</th><th scope="col">DST / calendar</th></tr></thead>
<tbody>${rows.map((r) => r.row)}</tbody></table></div>`;
}

/** What each coming clock change does to this crontab, as `beat next` says it. */
const DST_OUTCOME: Record<string, string> = {
  shifted: 'shifted',
  skipped: 'skipped',
  first: 'runs once (first pass)',
  second: 'runs once (second pass)',
  both: 'runs twice',
};

function dstMarks(detail: ScheduleDetail): Html | '' {
  const dst = detail.dst;
  if (!dst) return '';
  const policy = html`<p class="sub" id="dst-policy">DST policy${dst.declared ? '' : ' (default)'}: ${dst.policy}.</p>`;
  if (dst.changes.length === 0)
    return html`<h3 id="dst-title">Clock changes</h3>${policy}<p class="muted">No clock change in ${dst.zone} in the next two years skips or repeats a time it matches.</p>`;
  return html`<h3 id="dst-title">Clock changes</h3>${policy}
<ul class="dst-changes" id="dst-changes" aria-labelledby="dst-title">${dst.changes.map(
    (c) =>
      html`<li data-outcome="${c.outcome}"><span class="tag ${c.outcome === 'skipped' || c.outcome === 'both' ? 'warn' : ''}">${DST_OUTCOME[c.outcome] ?? c.outcome}</span> ${c.text}</li>`,
  )}</ul>`;
}

function runLock(detail: ScheduleDetail, now: number): Html {
  const lock = detail.runLock;
  const held =
    lock.held === null
      ? html`<span class="muted">unknown (${lock.unknown})</span>`
      : lock.held
        ? html`<span class="badge info">held</span>`
        : html`<span class="badge quiet">free</span>`;
  const run = lock.run;
  const group =
    lock.group === null ? '' : html`<span class="muted">exclusion group</span> <code>${lock.group}</code> `;
  return html`<p id="run-lock">${group}${held}${
    run
      ? html` by ${lock.group === null ? '' : html`<a href="/schedules/${encodeURIComponent(run.schedule)}">${run.schedule}</a>, `}run <code>${run.taskId}</code> (${run.status}, slot ${utc(run.scheduledFor)}, enqueued ${relative(run.enqueuedAt, now)}${run.leaderEpoch === null ? '' : `, epoch ${run.leaderEpoch}`})`
      : lock.held
        ? ' (by no run the ledger has in flight)'
        : ''
  }</p>`;
}

function historyTable(rows: OccurrenceView[], caption: string): Html {
  if (rows.length === 0) return html`<p class="muted">No occurrences yet.</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="${caption}">
<table class="history cards"><caption class="visually-hidden">${caption}</caption>
<thead><tr><th scope="col">Slot (UTC)</th><th scope="col">Status</th><th scope="col">Lag</th><th scope="col">Duration</th><th scope="col">Task id</th><th scope="col">Epoch</th><th scope="col">Error or reason</th></tr></thead>
<tbody>${rows.map(
    (o) => html`<tr data-status="${o.status}">
<td data-label="Slot"><time datetime="${o.scheduledFor}">${utc(o.scheduledFor)}</time></td>
<td data-label="Status">${statusBadge(o.status, o.manual)}${o.force ? html` <span class="tag">forced</span>` : ''}${o.backfillId === null ? '' : html` <span class="tag">backfill #${o.backfillId}</span>`}</td>
<td data-label="Lag">${shortDuration(o.lagMs)}</td>
<td data-label="Duration">${shortDuration(o.durationMs)}</td>
<td data-label="Task id"><code class="id">${o.taskId}</code></td>
<td data-label="Epoch">${o.leaderEpoch ?? '—'}</td>
<td data-label="Error" class="error">${o.error ?? ''}</td>
</tr>`,
  )}</tbody></table></div>`;
}

function deadlinesText(start: unknown, finish: unknown): string {
  const parts: string[] = [];
  if (typeof start === 'number') parts.push(`started within ${formatDuration(start)}`);
  if (typeof finish === 'number') parts.push(`finished within ${formatDuration(finish)}`);
  return parts.length === 0 ? 'none' : `each run ${parts.join(' and ')} after its slot`;
}

const OUTCOME_TONE: Record<string, string> = {
  on_time: 'ok',
  started_late: 'warn',
  not_finished: 'bad',
  failed: 'bad',
  missed: 'warn',
  skipped: 'warn',
};

function outcomeBadge(outcome: string): Html {
  return html`<span class="badge ${OUTCOME_TONE[outcome] ?? 'quiet'}">${outcome.replace('_', ' ')}</span>`;
}

/** On-time share, the outcomes, the lateness distribution, the breaches and the alerts. */
function deadlineSection(r: DeadlineReport): Html {
  const share =
    r.onTimeShare === null
      ? html`<span class="muted">no occurrence judged yet</span>`
      : html`<strong>${Number((r.onTimeShare * 100).toFixed(1))} %</strong> on time (${r.onTime} of ${r.judged}${r.complete ? '' : ', the newest'})`;
  const counts = Object.entries(r.outcomes).filter(([, n]) => n > 0);
  const p = (ms: number | null) => shortDuration(ms);
  return html`<p id="on-time-share">${share}${
    counts.length > 0
      ? html` · ${counts.map(([o, n], i) => html`${i > 0 ? ', ' : ''}${n} ${o.replace('_', ' ')}`)}`
      : ''
  }</p>
<p class="muted">Start lateness: median ${p(r.lateness.p50Ms)}, 95th percentile ${p(r.lateness.p95Ms)}, worst ${p(r.lateness.maxMs)}.</p>
${latenessChart(r)}
<h3 id="breaches-title">Breaches</h3>
${
  r.breaches.length === 0
    ? html`<p class="muted">None in the last ${r.days} days.</p>`
    : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="breaches-title">
<table class="breaches cards"><thead><tr><th scope="col">Slot (UTC)</th><th scope="col">Outcome</th><th scope="col">Reason</th></tr></thead>
<tbody>${r.breaches.map(
        (
          b,
        ) => html`<tr data-outcome="${b.outcome}"><td data-label="Slot"><time datetime="${b.slot}">${utc(b.slot)}</time></td>
<td data-label="Outcome">${outcomeBadge(b.outcome)}</td><td data-label="Reason" class="error">${b.reason ?? ''}</td></tr>`,
      )}</tbody></table></div>`
}
${
  r.alerts.length === 0
    ? ''
    : html`<h3 id="alerts-title">Alerts raised</h3>
<div class="table-wrap" tabindex="0" role="region" aria-labelledby="alerts-title">
<table class="alerts cards"><thead><tr><th scope="col">Raised (UTC)</th><th scope="col">Kind</th><th scope="col">Slot (UTC)</th><th scope="col">Webhook</th><th scope="col">Reason</th></tr></thead>
<tbody>${r.alerts.map(
        (a) => html`<tr><td data-label="Raised"><time datetime="${a.raisedAt}">${utc(a.raisedAt)}</time></td>
<td data-label="Kind">${a.kind === 'recovered' ? html`<span class="badge ok">recovered</span>` : outcomeBadge(a.kind)}</td>
<td data-label="Slot">${utc(a.slot)}</td><td data-label="Webhook">${a.delivery === 'none' ? 'not configured' : a.delivery}</td>
<td data-label="Reason" class="error">${a.reason}</td></tr>`,
      )}</tbody></table></div>`
}`;
}

function backfillTable(rows: Backfill[]): Html {
  if (rows.length === 0) return html`<p class="muted">None recorded.</p>`;
  const at = (ms: number) => new Date(ms).toISOString();
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Backfills">
<table class="cards"><thead><tr><th scope="col">#</th><th scope="col">Range (UTC)</th><th scope="col">Slots</th><th scope="col">Claimed</th><th scope="col">Already</th><th scope="col">Rate</th><th scope="col">Status</th><th scope="col">By</th></tr></thead>
<tbody>${rows.map(
    (b) => html`<tr data-backfill="${b.id}">
<td data-label="#">${b.id}</td>
<td data-label="Range">${utc(at(b.from))} … ${utc(at(b.to))}</td>
<td data-label="Slots">${b.slots}</td>
<td data-label="Claimed">${b.claimed}</td>
<td data-label="Already">${b.already}</td>
<td data-label="Rate">${Number(b.ratePerSecond.toFixed(3))}/s</td>
<td data-label="Status">${b.status}${b.error ? html` <span class="error">${b.error}</span>` : ''}</td>
<td data-label="By">${b.requestedBy}</td>
</tr>`,
  )}</tbody></table></div>`;
}
