/**
 * Query parameters, checked: a value out of range or not among the known ones is a 400 that names
 * the parameter and what it accepts, never a silent default or a database error.
 */
import { OCCURRENCE_STATUSES, type OccurrenceStatus } from '../../db/schema.ts';
import type { ScheduleFilter } from '../../db/sql/schedules-read.ts';
import { DISPLAY_STATES } from '../../observe/schedules.ts';
import { SCHEDULE_KINDS } from '../../time/index.ts';
import { ApiError } from './respond.ts';

function bad(name: string, value: string, accepts: string): ApiError {
  return new ApiError(400, 'bad_parameter', `${name}=${JSON.stringify(value)} is invalid: ${accepts}`);
}

export function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw bad(name, text, `use a whole number from ${min} to ${max}`);
  }
  return value;
}

function oneOf<T extends string>(url: URL, name: string, allowed: readonly T[]): T | undefined {
  const text = url.searchParams.get(name);
  if (text === null || text === '') return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw bad(name, text, `use one of ${allowed.join(', ')}`);
  return text as T;
}

function text(url: URL, name: string, max = 200): string | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value.trim() === '') return undefined;
  if (value.length > max) throw bad(name, `${value.slice(0, 20)}...`, `use at most ${max} characters`);
  return value.trim();
}

export function scheduleFilter(url: URL): ScheduleFilter {
  const filter: ScheduleFilter = {};
  const q = text(url, 'q');
  const state = oneOf(url, 'state', DISPLAY_STATES);
  const kind = oneOf(url, 'kind', SCHEDULE_KINDS);
  const managedBy = oneOf(url, 'managedBy', ['code', 'db'] as const);
  const task = text(url, 'task');
  const queue = text(url, 'queue');
  if (q) filter.q = q;
  if (state) filter.state = state;
  if (kind) filter.kind = kind;
  if (managedBy) filter.managedBy = managedBy;
  if (task) filter.task = task;
  if (queue) filter.queue = queue;
  return filter;
}

export function statusesParam(url: URL): OccurrenceStatus[] | undefined {
  const value = url.searchParams.get('status');
  if (value === null || value.trim() === '') return undefined;
  const statuses = value.split(',').map((s) => s.trim());
  for (const s of statuses) {
    if (!(OCCURRENCE_STATUSES as readonly string[]).includes(s)) {
      throw bad('status', s, `use one or more of ${OCCURRENCE_STATUSES.join(', ')}, comma-separated`);
    }
  }
  return statuses as OccurrenceStatus[];
}

export function instantParam(url: URL, name: string): Date | undefined {
  const value = url.searchParams.get(name);
  if (value === null || value === '') return undefined;
  const date = new Date(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(date.getTime())) {
    throw bad(name, value, 'use an ISO 8601 instant such as 2026-03-29T01:30:00Z');
  }
  return date;
}

/** `?preview=true`: the write answers what it would do and writes nothing (`false` or absent: it writes). */
export function previewParam(url: URL): boolean {
  return oneOf(url, 'preview', ['true', 'false']) === 'true';
}
