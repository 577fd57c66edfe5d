/** Formatting of instants and tables for people. */
import type { DstNote, ZoneRules } from '../time/index.ts';
import { formatDuration } from '../time/index.ts';

/** `2026-03-29 03:30:00 +02:00` in the given zone. */
export function formatLocal(instant: number, zone: ZoneRules): string {
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

/** A plain text table with left-aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** A value as short JSON for a change list (`kwargs: {...} -> {...}`). */
export function shortJson(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
