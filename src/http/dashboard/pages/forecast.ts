/** `/next-24h`: fires per minute over the next day, and the heaviest minutes with who fires in them. */
import type { Exchange } from '../../context.ts';
import { forecastChart } from '../charts.ts';
import { utc } from '../format.ts';
import { html } from '../html.ts';
import { leaderPill, sendPage } from '../layout.ts';

export async function forecastPage({ res, app }: Exchange): Promise<void> {
  const forecast = await app.forecast.get();
  const body = html`<h1>Next 24 hours</h1>
<div data-live id="forecast">
<p>${forecast.total} fires of ${forecast.counted} schedules from ${utc(forecast.from)} to ${utc(forecast.to)}.${
    forecast.leftOut > 0
      ? html` <span class="warn-text">${forecast.leftOut} schedules were left out (too many fires to count here): the counts are a lower bound.</span>`
      : ''
  }</p>
${forecastChart(forecast)}
<h2 id="heaviest-title">Heaviest minutes</h2>
${
  forecast.heaviest.length === 0
    ? html`<p class="muted">Nothing fires in the next 24 hours.</p>`
    : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="heaviest-title">
<table id="heaviest"><thead><tr><th scope="col">Minute (UTC)</th><th scope="col">Fires</th><th scope="col">Schedules</th><th scope="col">Among them</th></tr></thead>
<tbody>${forecast.heaviest.map(
        (
          h,
        ) => html`<tr><td><time datetime="${h.at}">${utc(h.at).slice(0, 16)}Z</time></td><td>${h.fires}</td><td>${h.schedules}</td>
<td>${h.names.map((n, i) => html`${i > 0 ? ', ' : ''}<a href="/schedules/${encodeURIComponent(n)}">${n}</a>`)}${h.schedules > h.names.length ? html` <span class="muted">and ${h.schedules - h.names.length} more</span>` : ''}</td></tr>`,
      )}</tbody></table></div>
<p class="sub">A herd is many schedules firing in the same minute: spread them with <code>jitter</code> or different minutes (docs/schedules.md).</p>`
}
</div>`;
  sendPage(
    res,
    200,
    { title: 'Next 24 hours', section: 'forecast', body, leader: await leaderPill(app) },
    app,
  );
}
