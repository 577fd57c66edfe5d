/**
 * `/now`: who leads and since when, the replicas, the last leader changes, dispatch lag, what went
 * wrong in the last hour and day, what is in flight, the invalid rows, the last operator actions.
 */

import { PROBLEM_STATUSES } from '../../../db/schema.ts';
import type { AuditEntry } from '../../../db/sql/audit.ts';
import { type NowView, nowView } from '../../../observe/status.ts';
import type { Exchange } from '../../context.ts';
import { relative, shortDuration, utc } from '../format.ts';
import { type Html, html } from '../html.ts';
import { sendPage } from '../layout.ts';

export async function nowPage({ res, app }: Exchange): Promise<void> {
  const view = await nowView(app.database, { group: app.group, replicaAliveMs: app.replicaAliveMs });
  const now = new Date(view.now).getTime();
  const body = html`<h1>Now</h1>
<div data-live id="now" class="columns">
<section aria-labelledby="leader-title">
  <h2 id="leader-title">Leader</h2>
  ${leader(view, now)}
  <h2 id="lag-title">Dispatch lag, last hour</h2>
  ${lag(view)}
  <h2 id="flight-title">In flight</h2>
  <p>${view.inFlight.enqueued} enqueued, ${view.inFlight.running} running, ${view.inFlight.claimed} claimed and not yet sent${
    view.inFlight.oldestClaimedAt
      ? html` <span class="${now - new Date(view.inFlight.oldestClaimedAt).getTime() > 60_000 ? 'warn-text' : ''}">(oldest claimed ${relative(view.inFlight.oldestClaimedAt, now)})</span>`
      : ''
  }</p>
</section>
<section aria-labelledby="problems-title">
  <h2 id="problems-title">Missed, skipped, failed</h2>
  ${problems(view)}
  <h2 id="invalid-title">Invalid rows</h2>
  ${
    view.invalid.length === 0
      ? html`<p class="muted">None.</p>`
      : html`<ul class="invalid">${view.invalid.map(
          (i) =>
            html`<li><a href="/schedules/${encodeURIComponent(i.name)}">${i.name}</a>: ${i.column ? html`<b>${i.column}</b>: ` : ''}${i.problem}</li>`,
        )}</ul>`
  }
</section>
</div>
<div data-live id="fleet">
<section aria-labelledby="replicas-title">
  <h2 id="replicas-title">Replicas</h2>
  ${replicas(view, now)}
</section>
<section aria-labelledby="changes-title">
  <h2 id="changes-title">Leader changes</h2>
  ${changes(view, now)}
</section>
<section aria-labelledby="actions-title">
  <h2 id="actions-title">Operator actions</h2>
  ${view.actions.length === 0 ? html`<p class="muted">None recorded.</p>` : actionsTable(view.actions, true)}
</section>
</div>`;
  sendPage(res, 200, { title: 'Now', section: 'now', body, leader: view.leader }, app);
}

function leader(view: NowView, now: number): Html {
  const l = view.leader;
  if (!l.live) {
    return html`<p class="notice bad" id="leader">No beat leads group <b>${l.group}</b>${
      l.holder ? html` (the lease of ${l.holder} expired ${relative(l.expiresAt, now)})` : ''
    }: nothing fires until one does.</p>`;
  }
  return html`<dl class="fields" id="leader">
  <dt>Holder</dt><dd><code>${l.holder}</code></dd>
  <dt>Epoch</dt><dd>${l.epoch}</dd>
  <dt>Since</dt><dd>${l.since ? html`${utc(l.since)} <span class="sub">${relative(l.since, now)}</span>` : html`<span class="muted">before the history began</span>`}</dd>
  <dt>Lease until</dt><dd>${utc(l.expiresAt)}</dd>
  <dt>Group</dt><dd>${l.group}</dd>
</dl>`;
}

function lag(view: NowView): Html {
  const l = view.lag;
  if (l.runs === 0) return html`<p class="muted">No scheduled runs enqueued in the last hour.</p>`;
  return html`<dl class="stats" id="lag">
  <div><dt>p50</dt><dd>${shortDuration(l.p50Ms)}</dd></div>
  <div><dt>p90</dt><dd>${shortDuration(l.p90Ms)}</dd></div>
  <div><dt>p99</dt><dd>${shortDuration(l.p99Ms)}</dd></div>
  <div><dt>max</dt><dd>${shortDuration(l.maxMs)}</dd></div>
  <div><dt>runs</dt><dd>${l.runs}</dd></div>
</dl>
<p class="sub">From due (slot plus jitter) to enqueued.</p>`;
}

function problems(view: NowView): Html {
  const label: Record<string, string> = {
    missed: 'missed',
    skipped_overlap: 'skipped (overlap)',
    failed: 'failed',
    expired: 'expired',
  };
  return html`<table class="compact" id="problem-counts"><thead><tr><th scope="col"></th><th scope="col">Last hour</th><th scope="col">Last day</th></tr></thead>
<tbody>${PROBLEM_STATUSES.map(
    (s) =>
      html`<tr><th scope="row">${label[s]}</th><td class="${view.problems.hour[s] ? 'warn-text' : ''}">${view.problems.hour[s]}</td><td>${view.problems.day[s]}</td></tr>`,
  )}</tbody></table>`;
}

function replicas(view: NowView, now: number): Html {
  if (view.replicas.length === 0) return html`<p class="muted">No replica has reported in the last hour.</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Replicas">
<table id="replicas"><thead><tr><th scope="col">Replica</th><th scope="col">Role</th><th scope="col">Host · pid</th><th scope="col">HTTP</th><th scope="col">Version</th><th scope="col">Up since</th><th scope="col">Seen</th></tr></thead>
<tbody>${view.replicas.map(
    (r) => html`<tr class="${r.alive ? '' : 'gone'}"><td><code>${r.id}</code></td>
<td><span class="badge ${r.role === 'leader' ? 'ok' : r.alive ? 'info' : 'quiet'}">${r.role}</span></td>
<td>${r.host} · ${r.pid}</td><td>${r.http ?? '—'}</td><td>${r.version}</td>
<td>${utc(r.startedAt)}</td><td>${relative(r.seenAt, now)}</td></tr>`,
  )}</tbody></table></div>`;
}

function changes(view: NowView, now: number): Html {
  if (view.leaderChanges.length === 0) return html`<p class="muted">No leader change recorded yet.</p>`;
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Leader changes">
<table id="leader-changes"><thead><tr><th scope="col">Epoch</th><th scope="col">Leader</th><th scope="col">Began</th><th scope="col">How</th><th scope="col">Without a leader</th><th scope="col">Ended</th></tr></thead>
<tbody>${view.leaderChanges.map(
    (c) => html`<tr><td>${c.epoch}</td><td><code>${c.holder}</code></td>
<td>${utc(c.startedAt)} <span class="sub">${relative(c.startedAt, now)}</span></td>
<td>${c.cause === 'failover' ? html`<span class="badge warn">failover</span>` : c.cause === 'hand-over' ? html`<span class="badge ok">hand-over</span>` : html`<span class="badge quiet">first</span>`}${c.previousHolder ? html`<span class="sub">from ${c.previousHolder}</span>` : ''}</td>
<td>${shortDuration(c.gapMs)}</td>
<td>${c.endedAt ? html`${utc(c.endedAt)} <span class="sub">${c.endReason}</span>` : html`<span class="muted">leading</span>`}</td></tr>`,
  )}</tbody></table></div>`;
}

export function actionsTable(actions: AuditEntry[], withSchedule: boolean): Html {
  return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Operator actions">
<table class="audit"><thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th>${withSchedule ? html`<th scope="col">Schedule</th>` : ''}<th scope="col">Detail</th></tr></thead>
<tbody>${actions.map(
    (
      a,
    ) => html`<tr><td>${utc(a.at)}</td><td>${a.actor} <span class="sub">via ${a.via}${a.address ? ` from ${a.address}` : ''}</span></td>
<td>${a.action}${a.detail.byItself === true ? html` <span class="sub">by itself: its pause ended</span>` : ''}</td>${withSchedule ? html`<td><a href="/schedules/${encodeURIComponent(a.schedule)}">${a.schedule}</a></td>` : ''}
<td>${Object.entries(a.detail)
      .filter(([, v]) => v !== null && v !== false)
      .map(
        ([k, v]) => html`<span class="kv">${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}</span> `,
      )}</td></tr>`,
  )}</tbody></table></div>`;
}
