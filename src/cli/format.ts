/**
 * Formatting of instants and tables for people. Whatever a row holds is shown, never thrown on: an
 * instant JavaScript cannot hold reads `invalid`, and control characters in names or messages are
 * escaped so they cannot forge table rows or drive the terminal.
 */
import { escapeNonPrintable, isoOrInvalid } from '../model/index.ts';
import type { DstNote, ZoneRules } from '../time/index.ts';
import { formatDuration } from '../time/index.ts';

/** ISO 8601, null for none, `invalid` for a date that is not one (an infinite timestamp). */
export function isoOf(date: Date | null | undefined): string | null {
  return date === null || date === undefined ? null : isoOrInvalid(date);
}

/** `2026-03-29 03:30:00 +02:00` in the given zone. */
export function formatLocal(instant: number, zone: ZoneRules): string {
  if (!Number.isFinite(instant) || Math.abs(instant) > 8.64e15) return 'invalid';
  const offset = zone.offsetAt(instant);
  const wall = new Date(instant + offset).toISOString();
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} ${formatOffset(offset)}`;
}

export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${sign}${hh}:${mm}`;
}

/** One short phrase for a DST mark, or '' when DST did not touch the fire. */
export function describeDst(note: DstNote | undefined): string {
  if (!note) return '';
  switch (note.kind) {
    case 'shifted':
      return `shifted: ${note.wall.slice(11)} does not exist (DST gap), runs ${formatDuration(note.byMs)} later`;
    case 'merged':
      return `merged: ${note.walls.map((w) => w.slice(11)).join(' and ')} land on one instant (DST gap), runs once`;
    case 'fold-first':
      return 'repeated hour (DST fall-back): runs at the first occurrence only';
    case 'fold-second':
      return 'repeated hour (DST fall-back): second pass, runs on real time';
  }
}

/** Text as it may be printed: control characters escaped (`\n`, `\x1b`). */
export function shown(text: string): string {
  return escapeNonPrintable(text);
}

/** A plain text table with left-aligned columns; every cell escaped (see {@link shown}). */
export function table(headers: string[], cells: string[][]): string {
  const rows = cells.map((r) => r.map(shown));
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
