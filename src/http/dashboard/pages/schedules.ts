/**
 * `/`: the schedules, with the state of things in one line above them, search and filters (a plain
 * GET form, applied as you type by the script), and paging.
 */
import { filterChoices } from '../../../db/sql/schedules-read.ts';
import { problemCounts } from '../../../observe/dispatch-stats.ts';
import { DISPLAY_STATES, listSchedules, type ScheduleSummary } from '../../../observe/schedules.ts';
import { SCHEDULE_KINDS } from '../../../time/index.ts';
import { intParam, scheduleFilter } from '../../api/params.ts';
import type { Exchange } from '../../context.ts';
import { stateBadge, statusBadge, utc, when } from '../format.ts';
import { type Html, html } from '../html.ts';
import { leaderPill, sendPage } from '../layout.ts';

const PAGE = 100;

export async function schedulesPage({ res, url, app }: Exchange): Promise<void> {
  const filter = scheduleFilter(url);
  const offset = intParam(url, 'offset', 0, 0, 10_000_000);
  const list = await listSchedules(app.database, filter, { limit: PAGE, offset });
  const choices = await filterChoices(app.database);
  const problems = await problemCounts(app.database);
  const now = Date.now();
  const select = (name: string, label: string, options: [string, string][], current: string | undefined) =>
    html`<label>${label}
      <select name="${name}">
        <option value="">any</option>
        ${options.map(([value, text]) => html`<option value="${value}"${value === current ? html` selected` : ''}>${text}</option>`)}
      </select></label>`;
  const hour = problems.hour;
  const body = html`<h1>Schedules</h1>
<div data-live id="summary">
<ul class="summary" aria-label="The last hour">
  <li><b>${list.counts.enabled}</b> enabled</li>
  <li><b>${list.counts.paused}</b> paused</li>
  <li class="${list.counts.invalid ? 'bad' : ''}"><b>${list.counts.invalid}</b> invalid</li>
  <li class="${hour.missed ? 'warn' : ''}"><b>${hour.missed}</b> missed in the last hour</li>
  <li class="${hour.skipped_overlap ? 'warn' : ''}"><b>${hour.skipped_overlap}</b> skipped</li>
  <li class="${hour.failed + hour.expired ? 'bad' : ''}"><b>${hour.failed + hour.expired}</b> failed</li>
</ul>
</div>
<form id="filters" class="filters" method="get" action="/" role="search">
  <label class="grow">Search <input type="search" name="q" value="${filter.q ?? ''}" placeholder="name, task or description"></label>
  ${select(
    'state',
    'State',
    DISPLAY_STATES.map((s) => [s, `${s} (${list.counts[s]})`]),
    filter.state,
  )}
  ${select(
    'kind',
    'Kind',
    SCHEDULE_KINDS.filter((k) => choices.kinds.includes(k)).map((k) => [k, k]),
    filter.kind,
  )}
  ${select(
    'queue',
    'Queue',
    choices.queues.map((q) => [q, q]),
    filter.queue,
  )}
  <label>Task <input type="text" name="task" value="${filter.task ?? ''}" size="14"></label>
  ${select(
    'managedBy',
    'Managed by',
    [
      ['code', 'code'],
      ['db', 'database'],
    ],
    filter.managedBy,
  )}
  <button type="submit" class="button">Filter</button>
  <a class="button quiet" href="/">Clear</a>
</form>
<div data-live id="schedules">
${list.schedules.length === 0 ? html`<p class="notice">No schedule matches. ${list.total === 0 && !url.search ? html`Declare some in <code>schedules/*.ts</code> and run <code>beat sync</code>, or <code>beat add</code>.` : ''}</p>` : scheduleTable(list.schedules, now)}
${pager(url, offset, list.schedules.length, list.total)}
</div>`;
  sendPage(res, 200, { title: 'Schedules', section: 'schedules', body, leader: await leaderPill(app) }, app);
}

function scheduleTable(rows: ScheduleSummary[], now: number): Html {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Schedules table">
<table class="schedules cards">
<caption class="visually-hidden">Schedules: state, next fire in UTC and in the schedule's zone, latest occurrence</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Schedule</th><th scope="col">State</th><th scope="col">Next fire (UTC · local)</th><th scope="col">Last</th><th scope="col">Queue</th></tr></thead>
<tbody>
${rows.map(
  (s) => html`<tr data-name="${s.name}">
  <td data-label="Name"><a href="/schedules/${encodeURIComponent(s.name)}">${s.name}</a><span class="sub">${s.task}${s.managedBy === 'code' ? html` · <span class="tag" title="declared in ${s.source ?? 'schedules/*.ts'}">code</span>` : ''}</span></td>
  <td data-label="Schedule">${s.specWords}<span class="sub">${s.kind} · <code>${s.spec}</code></span></td>
  <td data-label="State">${stateBadge(s.state)}${stateReason(s)}</td>
  <td data-label="Next fire">${when(s.nextFire, now)}${s.due ? html` <span class="tag warn">due</span>` : ''}</td>
  <td data-label="Last">${s.latest ? html`${statusBadge(s.latest.status, s.latest.manual)}<span class="sub">${utc(s.latest.scheduledFor)}</span>` : html`<span class="muted">none yet</span>`}</td>
  <td data-label="Queue">${s.queue ?? html`<span class="muted">routed</span>`}</td>
</tr>`,
)}
</tbody>
</table>
</div>`;
}

export function stateReason(s: ScheduleSummary): Html | '' {
  const skip = s.skip
    ? html`<span class="sub">skipping the next ${s.skip.count} (${s.skip.reason ?? 'no reason given'})</span>`
    : '';
  if (s.state === 'paused') {
    const until = s.pausedUntil
      ? html`until <time datetime="${s.pausedUntil.utc}">${s.pausedUntil.utc}</time> (resumes by itself): `
      : '';
    return html`<span class="sub" data-paused>${until}${s.pausedReason ?? 'no reason given'}</span>${skip}`;
  }
  if (skip) return skip;
  if (s.invalid)
    return html`<span class="sub">${s.invalid.column ? html`<b>${s.invalid.column}</b>: ` : ''}${s.invalid.problem}</span>`;
  return '';
}

function pager(url: URL, offset: number, shown: number, total: number): Html {
  if (total <= shown && offset === 0)
    return html`<p class="muted">${total} schedule${total === 1 ? '' : 's'}</p>`;
  const link = (at: number) => {
    const next = new URL(url);
    next.searchParams.set('offset', String(at));
    return `${next.pathname}${next.search}`;
  };
  return html`<nav class="pager" aria-label="Pages"><span>${offset + 1}–${offset + shown} of ${total}</span>
  ${offset > 0 ? html`<a href="${link(Math.max(0, offset - PAGE))}">Previous</a>` : ''}
  ${offset + shown < total ? html`<a href="${link(offset + PAGE)}">Next</a>` : ''}</nav>`;
}
