/**
 * The schedule edits of a chaos run, made the ways people make them: rows inserted and updated
 * with SQL (next_fire_at left to the runtime) or with next_fire_at set as `beat add`/`beat sync` do,
 * `beat pause`/`beat resume` through the store functions those commands call, `beat remove` through
 * the operation it calls (src/operate/edit.ts), and `beat trigger` through the occurrence insert it
 * does. Each is recorded in the World with the
 * database time it took effect.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../../src/db/database.ts';
import { type NewScheduleRow, schedules } from '../../src/db/schema.ts';
import { insertManualOccurrence } from '../../src/db/sql/occurrences.ts';
import { pauseSchedule, resumeSchedule } from '../../src/db/sql/schedules.ts';
import { findSchedule } from '../../src/db/sql/schedules-read.ts';
import { nextFireWithin, type ScheduleRecord, specOf } from '../../src/model/index.ts';
import { cliActor } from '../../src/operate/actor.ts';
import { requestBackfill } from '../../src/operate/backfill.ts';
import { removeSchedule } from '../../src/operate/edit.ts';
import { skip } from '../../src/operate/skip.ts';
import { compileSchedule } from '../../src/time/index.ts';
import type { ChaosSchedule, EditStep } from './plan.ts';
import type { ChangeKind, World } from './world.ts';

export const CHAOS_TASK = 'chaos.work';

/** The timing columns of a planned schedule (every kind column set, so a kind change is valid). */
function timingColumns(s: ChaosSchedule) {
  return {
    kind: s.kind,
    everyMs: s.everyMs,
    anchorAt: s.anchorMs === null ? null : new Date(s.anchorMs),
    cron: s.cron,
    cronFields: null,
    timezone: s.timezone,
  };
}

export function rowValues(s: ChaosSchedule): NewScheduleRow {
  return {
    name: s.name,
    task: CHAOS_TASK,
    ...timingColumns(s),
    kwargs: s.sleepS > 0 ? { sleep: s.sleepS } : {},
    overlap: s.overlap,
    catchup: s.catchup,
    timeLimitS: s.timeLimitS,
    softTimeLimitS: s.softTimeLimitS,
    expiresMs: s.expiresMs,
    jitterMs: s.jitterMs,
    exclusionGroup: s.exclusionGroup,
    managedBy: 'db',
    source: 'chaos',
  };
}

/** The first slot of a row's spec strictly after `after` (what `beat add` stores as next_fire_at). */
export function firstSlotAfter(row: Parameters<typeof specOf>[0] & { name: string }, after: number): number {
  const schedule = compileSchedule(specOf(row), { name: row.name });
  const next = nextFireWithin(schedule, { startAt: null, endAt: null, maxRuns: null, totalRuns: 0 }, after);
  if (next === null) throw new Error(`${row.name} never fires`);
  return next;
}

export interface EditContext {
  database: Database;
  world: World;
  dbNow: () => Promise<number>;
  /** Resume a paused schedule later (the run keeps the timer). */
  later: (ms: number, fn: () => Promise<void>) => void;
}

/** Apply one planned edit; returns what was done, for the run's log. */
export async function applyEdit(ctx: EditContext, step: EditStep): Promise<string> {
  const { world } = ctx;
  const live = world.live();
  const editable = live.filter((l) => l.history.role !== 'special' && !l.paused);
  const pickFrom = <T>(items: T[]): T | undefined =>
    items.length === 0 ? undefined : items[Math.floor(step.pick * items.length)];
  switch (step.kind) {
    case 'insert':
      return insert(ctx, step);
    case 'trigger': {
      const target = pickFrom(live);
      return target ? trigger(ctx, target.record) : 'no schedule to trigger';
    }
    case 'skip': {
      // Any live schedule, specials and paused ones included: a skip is an operator's switch, not
      // an edit of the schedule's definition.
      const target = pickFrom(live);
      return target ? skipNext(ctx, target.record, target.history.role, step) : 'no schedule to skip';
    }
    case 'backfill': {
      const target = pickFrom(live);
      return target ? backfill(ctx, target.record, step) : 'no schedule to backfill';
    }
    case 'edit-timing':
    case 'edit-other':
    case 'pause':
    case 'delete': {
      const target = pickFrom(editable);
      if (!target) return `no schedule to ${step.kind}`;
      const { record, history } = target;
      if (step.kind === 'delete') {
        await removeSchedule(ctx.database, record.name, cliActor(), { force: true });
        world.record(record.id, record.name, history.role, { at: await ctx.dbNow(), kind: 'delete' });
        return `deleted ${record.name}`;
      }
      if (step.kind === 'pause') {
        const paused = await pauseSchedule(ctx.database.db, record.id, 'chaos test');
        world.record(record.id, record.name, history.role, {
          at: await ctx.dbNow(),
          kind: 'pause',
          record: paused,
        });
        ctx.later(step.resumeAfterMs ?? 5_000, () => resume(ctx, record.id, history.role));
        return `paused ${record.name} for ${step.resumeAfterMs} ms`;
      }
      if (step.kind === 'edit-timing') return editTiming(ctx, record, history.role, step);
      return editOther(ctx, record, history.role, step);
    }
  }
}

async function insert(ctx: EditContext, step: EditStep): Promise<string> {
  const planned = step.schedule as ChaosSchedule;
  const values = rowValues(planned);
  if (step.style === 'cursor') values.nextFireAt = new Date(firstSlotOf(values, await ctx.dbNow()));
  const [row] = await ctx.database.db.insert(schedules).values(values).returning();
  const record = row as ScheduleRecord;
  ctx.world.record(record.id, record.name, planned.role, {
    at: await ctx.dbNow(),
    kind: 'insert',
    style: step.style,
    record,
  });
  return `inserted ${record.name} (${step.style})`;
}

async function editTiming(
  ctx: EditContext,
  record: ScheduleRecord,
  role: ChaosSchedule['role'],
  step: EditStep,
): Promise<string> {
  const planned = step.schedule as ChaosSchedule;
  const timing = timingColumns(planned);
  const set: Partial<NewScheduleRow> = { ...timing };
  if (step.style === 'cursor')
    set.nextFireAt = new Date(firstSlotAfter({ ...record, ...timing }, await ctx.dbNow()));
  return update(ctx, record, role, 'timing', set, step.style);
}

async function editOther(
  ctx: EditContext,
  record: ScheduleRecord,
  role: ChaosSchedule['role'],
  step: EditStep,
): Promise<string> {
  const planned = step.schedule as ChaosSchedule;
  const set: Partial<NewScheduleRow> = {};
  switch (step.option) {
    case 'sleep':
      set.kwargs = planned.sleepS > 0 ? { sleep: planned.sleepS } : {};
      break;
    case 'time-limit':
      set.timeLimitS = planned.timeLimitS ?? (record.timeLimitS === null ? 5 : null);
      break;
    case 'catchup':
      set.catchup = planned.catchup === record.catchup ? 'latest' : planned.catchup;
      break;
    case 'overlap':
      // Between the two exclusive policies only: a schedule whose runs must not overlap stays so,
      // and one that allows overlap keeps allowing it (its runs hold no lock to respect).
      if (record.overlap === 'allow') set.jitterMs = planned.jitterMs;
      else set.overlap = record.overlap === 'skip' ? 'buffer_one' : 'skip';
      break;
    default:
      set.jitterMs = planned.jitterMs;
  }
  return update(ctx, record, role, 'other', set);
}

async function update(
  ctx: EditContext,
  record: ScheduleRecord,
  role: ChaosSchedule['role'],
  kind: ChangeKind,
  set: Partial<NewScheduleRow>,
  style?: 'cursor' | 'sql',
): Promise<string> {
  const [row] = await ctx.database.db
    .update(schedules)
    .set(set)
    .where(eq(schedules.id, record.id))
    .returning();
  if (!row) return `${record.name} was gone`;
  ctx.world.record(record.id, record.name, role, {
    at: await ctx.dbNow(),
    kind,
    style,
    record: row as ScheduleRecord,
  });
  return `edited ${record.name} (${kind}${style ? `, ${style}` : ''}: ${Object.keys(set).join(', ')})`;
}

async function resume(ctx: EditContext, id: number, role: ChaosSchedule['role']): Promise<void> {
  const current = await ctx.database.db.select().from(schedules).where(eq(schedules.id, id));
  const record = current[0] as ScheduleRecord | undefined;
  if (!record) return;
  const resumed = await resumeSchedule(ctx.database.db, record, await ctx.dbNow());
  ctx.world.record(id, record.name, role, { at: await ctx.dbNow(), kind: 'resume', record: resumed });
}

async function trigger(ctx: EditContext, record: ScheduleRecord): Promise<string> {
  const at = await ctx.dbNow();
  try {
    const found = await findSchedule(ctx.database.db, record.name);
    if (!found) return `${record.name} was gone`;
    const { taskId } = await insertManualOccurrence(ctx.database, found, false);
    ctx.world.triggers.push({ at, schedule: record.name, scheduleId: record.id, taskId });
    return `triggered ${record.name} (${taskId})`;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    ctx.world.triggers.push({ at, schedule: record.name, scheduleId: record.id, error: message });
    return `trigger of ${record.name} failed: ${message}`;
  }
}

/** `beat skip NAME --count N --reason R`, through the operation the command calls. */
async function skipNext(
  ctx: EditContext,
  record: ScheduleRecord,
  role: ChaosSchedule['role'],
  step: EditStep,
): Promise<string> {
  const planned = step.skip ?? { count: 1, reason: 'chaos skip' };
  const result = await skip(ctx.database, record.name, planned, cliActor());
  ctx.world.record(record.id, record.name, role, {
    at: await ctx.dbNow(),
    kind: 'skip',
    record: result.record,
    skip: { ...planned, previousCount: result.previous.count },
  });
  return `skipping the next ${planned.count} of ${record.name} (replaced ${result.previous.count})`;
}

/**
 * `beat backfill NAME --from --to --rate`, through the operation the command calls: the schedule's
 * last `slots` slots up to `backMs` before now (its grid, from the time engine).
 */
async function backfill(ctx: EditContext, record: ScheduleRecord, step: EditStep): Promise<string> {
  const planned = step.backfill ?? { backMs: 5_000, slots: 3, rate: 2 };
  const now = await ctx.dbNow();
  const to = now - planned.backMs;
  const schedule = compileSchedule(specOf(record), { name: record.name });
  const slots: number[] = [];
  for (let t = schedule.next(to - 120_000); t !== null && t <= to; t = schedule.next(t)) slots.push(t);
  const range = slots.slice(-planned.slots);
  if (range.length === 0) return `${record.name} has no slot before ${new Date(to).toISOString()}`;
  const from = range[0] as number;
  const last = range[range.length - 1] as number;
  const { plan, backfill: row } = await requestBackfill(
    ctx.database,
    { name: record.name, from, to: last, ratePerSecond: planned.rate },
    cliActor(),
  );
  ctx.world.backfills.push({
    at: await ctx.dbNow(),
    id: row.id,
    schedule: record.name,
    scheduleId: record.id,
    from,
    to: last,
    ratePerSecond: planned.rate,
    slots: plan.slots.map((s) => s.scheduledFor),
  });
  return `backfill #${row.id} of ${record.name}: ${plan.slots.length} slots, ${plan.toSend} to send, ${planned.rate}/s`;
}

/** The first slot of a new row strictly after `after`. */
export function firstSlotOf(values: NewScheduleRow, after: number): number {
  return firstSlotAfter({ ...values, ...nulls(values) }, after);
}

/** The columns specOf reads that an insert's values may leave undefined. */
function nulls(values: NewScheduleRow) {
  return {
    cron: values.cron ?? null,
    cronFields: values.cronFields ?? null,
    timezone: values.timezone ?? null,
    everyMs: values.everyMs ?? null,
    anchorAt: values.anchorAt ?? null,
    solarEvent: null,
    latitude: null,
    longitude: null,
    runAt: null,
  };
}
