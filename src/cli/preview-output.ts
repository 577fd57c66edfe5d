/**
 * A schedule preview (src/observe/preview.ts) as text: the next fires before and after side by
 * side, then what would run at once. Shared by `beat sync --dry-run` and `beat add --preview`.
 */

import type { PreviewFire, SchedulePreview } from '../observe/preview.ts';
import { table } from './format.ts';

/** The preview, indented by `indent`: the fires before, the fires after, what would run at once. */
export function formatPreview(preview: SchedulePreview, indent = '    '): string {
  const rows: string[][] = [];
  const side = (label: string, fires: PreviewFire[] | null, none: string) => {
    if (fires === null || fires.length === 0) rows.push([label, fires === null ? none : 'no fires', '', '']);
    else
      for (const [i, f] of fires.entries())
        rows.push([i === 0 ? label : '', f.utc, f.local, [f.dst, f.calendar].filter(Boolean).join('; ')]);
  };
  side('before', preview.before, 'none (new, or invalid)');
  side(preview.firesChange ? 'after' : 'after (same)', preview.after, 'none (deleted, or invalid)');
  const grid = table(['', 'UTC', `Local (${preview.zone})`, 'DST / calendar'], rows)
    .split('\n')
    .map((line) => `${indent}${line}`);
  const run = preview.atOnce.run;
  const atOnce =
    run.length === 0
      ? `${indent}at once if applied now: nothing runs (${preview.atOnce.why})`
      : `${indent}at once if applied now: ${run.length} run${run.length === 1 ? '' : 's'} (${run
          .map((f) => f.utc)
          .join(
            ', ',
          )})${preview.atOnce.missed > 0 ? `, ${preview.atOnce.missed} recorded missed` : ''}; ${preview.atOnce.why}`;
  const dst = preview.dstChanges.map((line) => `${indent}DST after the edit: ${line}`);
  const skips = (preview.calendarSkips ?? []).map((line) => `${indent}calendar after the edit: ${line}`);
  return [...grid, ...dst, ...skips, atOnce].join('\n');
}
