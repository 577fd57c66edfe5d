/** Shared by the schedule commands: finding a schedule by name, and showing one. */
import type { Db } from '../db/database.ts';
import { findSchedule } from '../db/store.ts';
import {
  describeSpec,
  nextFireWithin,
  type ScheduleRecord,
  type ScheduleState,
  scheduleState,
  unfireableProblem,
  validateRecord,
} from '../model/index.ts';
import { type Schedule, ZoneRules } from '../time/index.ts';
import { CliError } from './errors.ts';
import { formatLocal, isoOf } from './format.ts';

export async function requireSchedule(db: Db, name: string): Promise<ScheduleRecord> {
  const record = await findSchedule(db, name);
  if (!record) {
    throw new CliError(
      `no schedule named ${JSON.stringify(name)}; 'beat list' shows the schedules there are`,
      2,
    );
  }
  return record;
}

/** A record as seen now: validity judged afresh (a read never writes), state, next fire. */
export interface RecordView {
  record: ScheduleRecord;
  state: ScheduleState;
  invalidReason: string | null;
  schedule: Schedule | null;
  /** Stored next fire, or computed now when the row has none yet (edited by SQL). */
  nextFireAt: number | null;
  zone: ZoneRules;
}

export function viewRecord(record: ScheduleRecord, now: number): RecordView {
  const check = validateRecord(record, now);
  // A row that can never fire is only quarantined after a look at the ledger: trust the stored verdict.
  const never =
    check.ok && record.invalidReason !== null ? unfireableProblem(check.schedule, record, now) : null;
  const invalidReason = check.ok ? (never ? record.invalidReason : null) : check.reason;
  const schedule = check.ok && !never ? check.schedule : null;
  let nextFireAt = record.nextFireAt ? record.nextFireAt.getTime() : null;
  if (nextFireAt === null && schedule) nextFireAt = nextFireWithin(schedule, record, now);
  let zone: ZoneRules;
  try {
    zone = ZoneRules.get(schedule?.timezone ?? 'UTC', 'timezone');
  } catch {
    zone = ZoneRules.get('UTC', 'timezone');
  }
  return { record, state: scheduleState(record, invalidReason), invalidReason, schedule, nextFireAt, zone };
}

export function when(ms: number | null | undefined, zone: ZoneRules): string {
  return ms === null || ms === undefined ? '-' : formatLocal(ms, zone);
}

const iso = isoOf;

/** The JSON shape of a schedule in `--json` output (camelCase, instants as ISO strings). */
export function recordJson(view: RecordView): Record<string, unknown> {
  const r = view.record;
  return {
    id: r.id,
    name: r.name,
    task: r.task,
    kind: r.kind,
    spec: describeSpec(r),
    state: view.state,
    invalidReason: view.invalidReason,
    cron: r.cron,
    cronFields: r.cronFields,
    timezone: r.timezone,
    everyMs: r.everyMs,
    anchorAt: iso(r.anchorAt),
    solarEvent: r.solarEvent,
    latitude: r.latitude,
    longitude: r.longitude,
    runAt: iso(r.runAt),
    args: r.args,
    kwargs: r.kwargs,
    queue: r.queue,
    routingKey: r.routingKey,
    priority: r.priority,
    headers: r.headers,
    expiresMs: r.expiresMs,
    timeLimitS: r.timeLimitS,
    softTimeLimitS: r.softTimeLimitS,
    enabled: r.enabled,
    startAt: iso(r.startAt),
    endAt: iso(r.endAt),
    maxRuns: r.maxRuns,
    totalRuns: r.totalRuns,
    overlap: r.overlap,
    catchup: r.catchup,
    catchupWindowMs: r.catchupWindowMs,
    jitterMs: r.jitterMs,
    runLeaseMs: r.runLeaseMs,
    description: r.description,
    managedBy: r.managedBy,
    source: r.source,
    pausedAt: iso(r.pausedAt),
    pausedReason: r.pausedReason,
    nextFireAt: view.nextFireAt === null ? null : isoOf(new Date(view.nextFireAt)),
    lastFireAt: iso(r.lastFireAt),
    version: r.version,
    createdAt: iso(r.createdAt),
    updatedAt: iso(r.updatedAt),
  };
}
