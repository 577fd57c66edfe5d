/** Small pieces of the pages: instants, durations, state and status badges. */
import type { Instant } from '../../observe/instant.ts';
import { type Html, html } from './html.ts';

/** `2026-03-29 01:30:00Z`: UTC, to the second, as people read it. */
export function utc(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** `in 12 s`, `3 min ago`, `2 h ago`: relative to `now` (epoch ms). */
export function relative(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const delta = new Date(iso).getTime() - now;
  const text = shortDuration(Math.abs(delta));
  if (Math.abs(delta) < 1_000) return 'now';
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

/** `120 ms`, `4.2 s`, `3 min`, `5 h`, `2 d`. */
export function shortDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 3_600_000)} h`;
  return `${Math.round(ms / 86_400_000)} d`;
}

/** A time cell: UTC on top, the schedule's wall clock and the relative time below. */
export function when(instant: Instant | null, now: number): Html {
  if (!instant) return html`<span class="muted">—</span>`;
  return html`<time datetime="${instant.utc}">${utc(instant.utc)}</time>
    <span class="sub">${instant.local} · ${relative(instant.utc, now)}</span>`;
}

/** Words beside colours, so a state never depends on seeing colour. */
const STATE_TONE: Record<string, string> = {
  enabled: 'ok',
  paused: 'warn',
  disabled: 'quiet',
  invalid: 'bad',
  done: 'quiet',
};

const STATUS_TONE: Record<string, string> = {
  succeeded: 'ok',
  enqueued: 'ok',
  running: 'info',
  claimed: 'info',
  buffered: 'info',
  missed: 'warn',
  skipped_overlap: 'warn',
  skipped: 'info',
  paused: 'warn',
  failed: 'bad',
  expired: 'bad',
  revoked: 'bad',
};

export function stateBadge(state: string): Html {
  return html`<span class="badge ${STATE_TONE[state] ?? 'quiet'}">${state}</span>`;
}

export function statusBadge(status: string, manual = false): Html {
  return html`<span class="badge ${STATUS_TONE[status] ?? 'quiet'}">${status.replace('_', ' ')}</span>${
    manual ? html` <span class="tag">manual</span>` : ''
  }`;
}
