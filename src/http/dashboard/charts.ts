/**
 * Charts as inline SVG, drawn on the server: a schedule's timeline and the 24-hour fire counts.
 * Each has a text summary for screen readers (role="img" with a label) and per-bar titles for
 * pointer users; the exact numbers are also in the tables beside them. Colours come from the
 * stylesheet (classes), so they follow light and dark mode.
 */
import type { DeadlineReport } from '../../observe/deadline-report.ts';
import type { Forecast } from '../../observe/forecast.ts';
import type { Timeline } from '../../observe/timeline.ts';
import { utc } from './format.ts';
import { type Html, html } from './html.ts';

const W = 960;
const H = 100;

export function timelineChart(timeline: Timeline): Html {
  const n = timeline.buckets.length;
  const barW = W / n;
  const max = Math.max(
    1,
    ...timeline.buckets.map((b) => Math.max(b.ran + b.problems + b.pending, b.upcoming)),
  );
  const scale = (count: number) => (count === 0 ? 0 : Math.max(3, (count / max) * (H - 8)));
  const totals = timeline.buckets.reduce(
    (t, b) => ({
      ran: t.ran + b.ran,
      problems: t.problems + b.problems,
      upcoming: t.upcoming + b.upcoming,
    }),
    { ran: 0, problems: 0, upcoming: 0 },
  );
  const span = `${Math.round(((n / 2) * timeline.bucketMs) / 3_600_000)} h`;
  const label = `Timeline: ${totals.ran} runs and ${totals.problems} missed, skipped or failed in the last ${span}; ${totals.upcoming}${timeline.complete ? '' : '+'} fires in the next ${span}.`;
  const nowX = W / 2;
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}" preserveAspectRatio="none" class="timeline">
  <line x1="0" y1="${H - 2}" x2="${W}" y2="${H - 2}" class="axis"/>
  ${timeline.buckets.map((b, i) => {
    const x = i * barW + 1;
    const w = Math.max(1, barW - 2);
    let y = H - 2;
    const segments: Html[] = [];
    for (const [count, cls] of [
      [b.ran, 'ran'],
      [b.pending, 'pending'],
      [b.problems, 'problem'],
    ] as const) {
      if (count === 0) continue;
      const h = scale(count);
      y -= h;
      segments.push(html`<rect x="${x}" y="${y}" width="${w}" height="${h}" class="${cls}"/>`);
    }
    if (b.upcoming > 0) {
      const h = scale(b.upcoming);
      segments.push(
        html`<rect x="${x + 0.5}" y="${H - 2 - h + 0.5}" width="${w - 1}" height="${h - 1}" class="upcoming"/>`,
      );
    }
    if (segments.length === 0) return '';
    return html`<g><title>${utc(b.start)}: ${b.ran} ran${b.problems ? `, ${b.problems} missed/skipped/failed` : ''}${b.pending ? `, ${b.pending} pending` : ''}${b.upcoming ? `, ${b.upcoming} to come` : ''}</title>${segments}</g>`;
  })}
  <line x1="${nowX}" y1="4" x2="${nowX}" y2="${H - 2}" class="now"/>
</svg>
<div class="axis-labels" aria-hidden="true"><span>${utc(timeline.from).slice(5, 16)}</span><span>now</span><span>${utc(timeline.to).slice(5, 16)}</span></div>
<figcaption>${label}
  <span class="legend"><span class="key ran"></span> ran <span class="key problem"></span> missed, skipped or failed <span class="key pending"></span> waiting <span class="key upcoming"></span> to come</span>
</figcaption>
</figure>`;
}

const FH = 170;

export function forecastChart(forecast: Forecast): Html {
  const max = Math.max(1, ...forecast.slots);
  const heavy = new Set(forecast.heaviest.slice(0, 3).map((h) => h.at));
  const from = new Date(forecast.from).getTime();
  const label = `Fires per minute over the next 24 hours: ${forecast.total} in all, at most ${max} in one minute.`;
  const ticks: Html[] = [];
  const labels: string[] = [];
  for (let m = 0; m <= forecast.slots.length; m += 180) {
    ticks.push(html`<line x1="${m}" y1="${FH - 8}" x2="${m}" y2="${FH - 2}" class="axis"/>`);
    labels.push(new Date(from + m * forecast.slotMs).toISOString().slice(11, 16));
  }
  return html`<figure class="chart">
<svg viewBox="0 0 ${forecast.slots.length} ${FH}" role="img" aria-label="${label}" preserveAspectRatio="none" class="forecast">
  <line x1="0" y1="${FH - 8}" x2="${forecast.slots.length}" y2="${FH - 8}" class="axis"/>
  ${forecast.slots.map((count, i) => {
    if (count === 0) return '';
    const h = Math.max(2, (count / max) * (FH - 14));
    const at = new Date(from + i * forecast.slotMs).toISOString();
    // Two units wide (a minute is under a pixel on most screens): a lone spike stays visible.
    return html`<rect x="${i}" y="${FH - 8 - h}" width="2" height="${h}" class="${heavy.has(at) ? 'heavy' : 'fires'}"><title>${utc(at).slice(0, 16)}Z: ${count} fires</title></rect>`;
  })}
  ${ticks}
</svg>
<div class="axis-labels" aria-hidden="true">${labels.map((l) => html`<span>${l}</span>`)}</div>
<figcaption>${label} Times in UTC.</figcaption>
</figure>`;
}

const LW = 400;
const LH = 100;

/** How late runs started after their slot: one bar per bucket, the counts in each bar's title. */
export function latenessChart(report: DeadlineReport): Html {
  const buckets = report.lateness.buckets;
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const barW = LW / buckets.length;
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const label = `How late runs started after their slot, last ${report.days} days: ${buckets
    .map((b) => `${b.count} ${b.label}`)
    .join(', ')}.`;
  return html`<figure class="chart">
<svg viewBox="0 0 ${LW} ${LH}" role="img" aria-label="${label}" preserveAspectRatio="none" class="lateness">
  <line x1="0" y1="${LH - 2}" x2="${LW}" y2="${LH - 2}" class="axis"/>
  ${buckets.map((b, i) => {
    if (b.count === 0) return '';
    const h = Math.max(3, (b.count / max) * (LH - 8));
    const late = report.startDeadlineMs !== null && (b.upToMs === null || b.upToMs > report.startDeadlineMs);
    return html`<rect x="${i * barW + 2}" y="${LH - 2 - h}" width="${barW - 4}" height="${h}" class="${late ? 'problem' : 'ran'}"><title>${b.label}: ${b.count} runs</title></rect>`;
  })}
</svg>
<div class="axis-labels" aria-hidden="true">${buckets.map((b) => html`<span>${b.label}</span>`)}</div>
<figcaption>${label} ${total === 0 ? 'No run started yet.' : ''}</figcaption>
</figure>`;
}
