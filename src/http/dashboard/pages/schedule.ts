/**
 * `/schedules/NAME`: one schedule. Its actions (the API's, behind the token), its definition and
 * next fires with DST marks, who holds its run lock, a timeline of the last and next day, its run
 * history, its missed, skipped and failed rows with their reasons, and the operator actions on it.
 */
import { PROBLEM_STATUSES } from '../../../db/schema.ts';
import { type OccurrenceView, scheduleOccurrences } from '../../../observe/history.ts';
import { type ScheduleDetail, scheduleDetail } from '../../../observe/schedule-detail.ts';
import { scheduleTimeline } from '../../../observe/timeline.ts';
import { formatDuration } from '../../../time/index.ts';
import { instantParam } from '../../api/params.ts';
import { noSchedule } from '../../api/reads.ts';
import type { Exchange } from '../../context.ts';
import { timelineChart } from '../charts.ts';
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
  const problems = await scheduleOccurrences(app.database, name, {
    limit: 20,
    statuses: [...PROBLEM_STATUSES],
  });
  const timeline = await scheduleTimeline(app.database, view, now, 24);
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
  <h2 id="lock-title">Run lock</h2>
  ${runLock(detail, now)}
</section>
</div>
<section aria-labelledby="timeline-title">
  <h2 id="timeline-title">Last and next 24 hours</h2>
  <div data-live id="timeline">${timelineChart(timeline)}</div>
</section>
<section aria-labelledby="history-title">
  <h2 id="history-title">Run history</h2>
  <div data-live id="history">${historyTable(history, 'Run history: newest first')}
  ${history.length === HISTORY ? html`<p><a href="?before=${encodeURIComponent(history[history.length - 1]!.scheduledFor)}">Older</a></p>` : ''}</div>
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
      <button type="submit" class="button">Pause</button></form>`
  }
  <form class="action" data-action="trigger" action="${path}/trigger" method="post">
    <label class="check"><input type="checkbox" name="force"> even if a run is going</label>
    <button type="submit" class="button">Trigger now</button></form>
  ${
    detail.codeOwned
      ? ''
      : html`<form class="action" data-action="${enabled ? 'disable' : 'enable'}" action="${path}/${enabled ? 'disable' : 'enable'}" method="post">
      <button type="submit" class="button ${enabled ? 'quiet' : ''}">${enabled ? 'Disable' : 'Enable'}</button></form>`
  }
</div>
<noscript><p class="notice">The actions need JavaScript; the JSON API takes them too (docs/api.md).</p></noscript>`;
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
    ['Catch-up', html`${d.catchup} within ${ms(d.catchupWindowMs)}`],
    ['Jitter', ms(d.jitterMs)],
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
  const rows = [
    ...detail.nextFires.map((f) => ({
      at: f.utc,
      row: html`<tr${f.dst ? html` class="dst"` : ''}><td><time datetime="${f.utc}">${utc(f.utc)}</time></td><td>${f.local}</td><td>${[
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
<table><thead><tr><th scope="col">UTC</th><th scope="col">Local</th><th scope="col">DST / calendar</th></tr></thead>
<tbody>${rows.map((r) => r.row)}</tbody></table></div>`;
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
  return html`<p id="run-lock">${held}${
    run
      ? html` by run <code>${run.taskId}</code> (${run.status}, slot ${utc(run.scheduledFor)}, enqueued ${relative(run.enqueuedAt, now)}${run.leaderEpoch === null ? '' : `, epoch ${run.leaderEpoch}`})`
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
<td data-label="Status">${statusBadge(o.status, o.manual)}${o.force ? html` <span class="tag">forced</span>` : ''}</td>
<td data-label="Lag">${shortDuration(o.lagMs)}</td>
<td data-label="Duration">${shortDuration(o.durationMs)}</td>
<td data-label="Task id"><code class="id">${o.taskId}</code></td>
<td data-label="Epoch">${o.leaderEpoch ?? '—'}</td>
<td data-label="Error" class="error">${o.error ?? ''}</td>
</tr>`,
  )}</tbody></table></div>`;
}
