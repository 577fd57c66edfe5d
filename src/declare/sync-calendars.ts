/**
 * `sync` for calendars declared with `defineCalendar`: the code-owned rows of `metronome.calendars`
 * (and their days) made to match, in the same transaction as the schedules and before them, so a
 * schedule and the calendar it names land together. Calendars kept in the database
 * (`managed_by = 'db'`: `beat calendar import`, add-day, the API) are never touched; declaring one
 * of their names is an error. A code-owned calendar no longer declared is kept (orphan) unless
 * `--prune`, which refuses while a schedule that stays still names it.
 */
import type { Db } from '../db/database.ts';
import {
  deleteCalendar,
  replaceCalendarDays,
  type StoredCalendar,
  upsertCalendar,
} from '../db/sql/calendars.ts';
import { canonicalJson } from '../model/index.ts';
import {
  Calendar,
  type CalendarDayRange,
  type CalendarLookup,
  formatCivilDay,
  parseCivilDay,
  ScheduleSpecError,
} from '../time/index.ts';
import type { FoundCalendar, SyncProblem } from './load.ts';

export interface ValidCalendar {
  name: string;
  file: string;
  /** As stored: weekdays 0–6 ascending, days as ranges `YYYY-MM-DD`. */
  weekdays: number[];
  days: CalendarDayRange[];
  description: string | null;
  calendar: Calendar;
}

export type CalendarPlanEntry =
  | { action: 'create'; name: string; file: string }
  | { action: 'update'; name: string; file: string; changed: string[] }
  | { action: 'unchanged'; name: string; file: string }
  | { action: 'prune'; name: string; file: string | null }
  | { action: 'orphan'; name: string; file: string | null };

/** Validate every calendar declaration; each problem names the file, the calendar and the field. */
export function validateCalendarDeclarations(found: readonly FoundCalendar[]): {
  valid: ValidCalendar[];
  problems: SyncProblem[];
} {
  const valid: ValidCalendar[] = [];
  const problems: SyncProblem[] = [];
  for (const { file, declaration } of found) {
    const name = typeof declaration.name === 'string' ? declaration.name : '(unnamed)';
    try {
      const unknown = Object.keys(declaration).filter(
        (k) => !['name', 'weekdays', 'days', 'description'].includes(k),
      );
      if (unknown.length > 0) {
        throw new ScheduleSpecError(
          unknown[0]!,
          undefined,
          'unknown option',
          'name, weekdays, days, description',
        );
      }
      const calendar = Calendar.compile(declaration);
      const description = declaration.description ?? null;
      if (description !== null && typeof description !== 'string') {
        throw new ScheduleSpecError('description', description, 'not text', 'a string or null');
      }
      valid.push({
        name: calendar.name,
        file,
        weekdays: [0, 1, 2, 3, 4, 5, 6].filter((d) => (calendar.weekdayMask & (1 << d)) !== 0),
        days: (declaration.days ?? []).map((entry, i) => normalDay(entry, `days[${i}]`)),
        description,
        calendar,
      });
    } catch (error) {
      if (!(error instanceof ScheduleSpecError)) throw error;
      problems.push({ file, calendar: name, field: error.field, reason: error.message });
    }
  }
  return { valid, problems };
}

function normalDay(entry: string | CalendarDayRange, field: string): CalendarDayRange {
  if (typeof entry === 'string') {
    const day = formatCivilDay(parseCivilDay(entry, field));
    return { from: day, to: day };
  }
  return {
    from: formatCivilDay(parseCivilDay(entry.from, `${field}.from`)),
    to: formatCivilDay(parseCivilDay(entry.to, `${field}.to`)),
    ...(entry.label ? { label: entry.label } : {}),
  };
}

/** The plan for calendars against the stored ones; `usedBy` gives the schedules that keep naming each. */
export function planCalendars(
  stored: ReadonlyMap<string, StoredCalendar>,
  declared: readonly ValidCalendar[],
  prune: boolean,
  usedBy: (name: string) => string[],
): { plan: CalendarPlanEntry[]; problems: SyncProblem[] } {
  const plan: CalendarPlanEntry[] = [];
  const problems: SyncProblem[] = [];
  const names = new Set(declared.map((c) => c.name));
  for (const c of declared) {
    const row = stored.get(c.name);
    if (!row) plan.push({ action: 'create', name: c.name, file: c.file });
    else if (row.managedBy !== 'code') {
      problems.push({
        file: c.file,
        calendar: c.name,
        field: 'name',
        reason: `a calendar with this name already exists in the database and is managed there (beat calendar import/add-day or SQL); sync never touches it. Rename the declaration, or delete the stored one first (beat calendar delete "${c.name}")`,
      });
    } else {
      const changed = changedParts(row, c);
      plan.push(
        changed.length === 0
          ? { action: 'unchanged', name: c.name, file: c.file }
          : { action: 'update', name: c.name, file: c.file, changed },
      );
    }
  }
  for (const [name, row] of stored) {
    if (row.managedBy !== 'code' || names.has(name)) continue;
    const users = prune ? usedBy(name) : [];
    if (users.length > 0) {
      problems.push({
        file: row.source ?? 'schedules/',
        calendar: name,
        reason: `--prune would delete it, but ${users.map((u) => `"${u}"`).join(', ')} still name${users.length === 1 ? 's' : ''} it; take it out of their calendars first, or declare it again`,
      });
    } else plan.push({ action: prune ? 'prune' : 'orphan', name, file: row.source });
  }
  return { plan, problems };
}

function changedParts(row: StoredCalendar, c: ValidCalendar): string[] {
  const changed: string[] = [];
  if (canonicalJson(row.spec.weekdays) !== canonicalJson(c.weekdays)) changed.push('weekdays');
  if (canonicalJson(sortDays(row.spec.days)) !== canonicalJson(sortDays(c.days))) changed.push('days');
  if (row.description !== c.description) changed.push('description');
  if (row.source !== c.file) changed.push('source');
  return changed;
}

function sortDays(days: readonly CalendarDayRange[]): CalendarDayRange[] {
  // One row per first day (the table's key): a later entry starting the same day wins, as stored.
  const byFirst = new Map<string, CalendarDayRange>();
  for (const d of days)
    byFirst.set(d.from, { from: d.from, to: d.to, ...(d.label ? { label: d.label } : {}) });
  return [...byFirst.values()].sort((a, b) => a.from.localeCompare(b.from));
}

/** Apply the calendar plan in the caller's transaction; returns the calendars written, for the audit log. */
export async function applyCalendarPlan(
  tx: Db,
  plan: readonly CalendarPlanEntry[],
  declared: readonly ValidCalendar[],
): Promise<CalendarPlanEntry[]> {
  const byName = new Map(declared.map((c) => [c.name, c]));
  const written: CalendarPlanEntry[] = [];
  for (const entry of plan) {
    const c = byName.get(entry.name);
    if ((entry.action === 'create' || entry.action === 'update') && c) {
      await upsertCalendar(tx, c.name, {
        weekdays: c.weekdays,
        description: c.description,
        managedBy: 'code',
        source: c.file,
      });
      if (entry.action === 'create' || entry.changed.includes('days')) {
        await replaceCalendarDays(tx, c.name, sortDays(c.days));
      }
      written.push(entry);
    } else if (entry.action === 'prune') {
      await deleteCalendar(tx, entry.name);
      written.push(entry);
    }
  }
  return written;
}

/**
 * Where a sync's schedules find their calendars: the declared ones as declared, then the stored
 * ones (a database-owned calendar, or a code-owned one kept), less those the plan prunes.
 */
export function syncLookup(
  declared: readonly ValidCalendar[],
  stored: ReadonlyMap<string, StoredCalendar>,
  pruned: ReadonlySet<string>,
): CalendarLookup {
  const compiled = new Map(declared.map((c) => [c.name, c.calendar]));
  return (name) => {
    const own = compiled.get(name);
    if (own) return own;
    const row = stored.get(name);
    if (!row || pruned.has(name)) return undefined;
    const calendar = Calendar.compile(row.spec);
    compiled.set(name, calendar);
    return calendar;
  };
}
