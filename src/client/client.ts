/**
 * `connect()`: schedules from an application, the way `beat add` makes them from a terminal.
 *
 *   import { connect, crontab, every } from 'metronome';
 *   const metronome = await connect({ databaseUrl: process.env.DATABASE_URL, actor: 'billing-app' });
 *   await metronome.upsert({ name: `invoice.${id}`, task: 'billing.invoice', schedule: crontab('0 6 1 * *', { tz }) });
 *
 * Every method is an operation of src/operate/ (the CLI and the HTTP API call the same ones): each
 * write is validated exactly as `beat add` validates, done in one transaction with its audit
 * record (the client's `actor`, via `client`), and refused for a schedule declared in code. Reads
 * carry the schedule's `version`; a write given a version that has moved fails with a
 * VersionConflictError naming what moved it.
 */

import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { migrateDatabase } from '../db/migrate.ts';
import type { OccurrenceStatus } from '../db/schema.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { findSchedule, type ScheduleListOptions, scheduleRecordsPage } from '../db/sql/schedules-read.ts';
import { databaseNow } from '../db/store.ts';
import type { ScheduleDeclarationInput } from '../model/index.ts';
import { type OccurrenceView, scheduleOccurrences } from '../observe/history.ts';
import { nextFires, viewRecord } from '../observe/schedule-view.ts';
import { type Actor, clientActor } from '../operate/actor.ts';
import {
  type BackfillPlan,
  cancelBackfill,
  listBackfills,
  planBackfill,
  requestBackfill,
} from '../operate/backfill.ts';
import { type BulkItem, type BulkOptions, type BulkResult, upsertMany } from '../operate/bulk.ts';
import {
  createSchedule,
  type EditResult,
  patchSchedule,
  removeSchedule,
  replaceSchedule,
  type SchedulePatch,
  upsertSchedule,
} from '../operate/edit.ts';
import { setEnabled } from '../operate/enable.ts';
import { notFound } from '../operate/errors.ts';
import { pause, resume } from '../operate/pause.ts';
import { clearSkip, skip } from '../operate/skip.ts';
import { trigger } from '../operate/trigger.ts';
import { type ConnectionOptions, openConnection } from './connection.ts';
import { type ScheduleInfo, scheduleInfo } from './schedule.ts';

export interface ConnectOptions extends ConnectionOptions {
  /** Who the audit log records for this client's changes; default `user@host` of the process. */
  actor?: string;
  /** Apply Metronome's migrations first (a URL only; default false: `beat migrate` does it). */
  migrate?: boolean;
}

export interface VersionOption {
  /** The version read: refuse the write if the schedule has changed since. */
  version?: number;
}

export type ListOptions = ScheduleListOptions;

export interface HistoryOptions {
  /** Default 50, at most 1,000. */
  limit?: number;
  /** Only occurrences scheduled before this instant (the next page). */
  before?: Date;
  statuses?: OccurrenceStatus[];
}

export interface WriteResult {
  schedule: ScheduleInfo;
  action: EditResult['action'];
  /** The fields an update changed (`schedule`, `kwargs`, ...). */
  changed: string[];
}

export interface TriggerResult {
  name: string;
  /** The task id the run is sent with (deterministic, as for a scheduled fire). */
  taskId: string;
  scheduledFor: Date;
}

export interface BackfillOptions {
  /** First instant of the range, inclusive. */
  from: Date;
  /** Last instant of the range, inclusive; not in the future. */
  to: Date;
  /** Slots a second (default 1, at most 100). */
  ratePerSecond?: number;
  /** List the slots and record nothing. */
  dryRun?: boolean;
  /** Needed for a range of more than 1,000 slots. */
  confirm?: boolean;
}

export interface BackfillResult {
  /** The recorded backfill's id (`beat show`, GET /api/v1/schedules/NAME/backfills); null for a dry run. */
  id: number | null;
  /** Each slot of the range, what the ledger holds at it, and whether the backfill sends it. */
  slots: Array<{ scheduledFor: Date; taskId: string; ledger: OccurrenceStatus | null; sends: boolean }>;
  toSend: number;
}

export type BackfillInfo = Awaited<ReturnType<typeof listBackfills>>[number];

export class MetronomeClient {
  readonly #database: Database;
  readonly #actor: Actor;

  constructor(database: Database, actor: Actor) {
    this.#database = database;
    this.#actor = actor;
  }

  /** Create a schedule; a name that exists is refused (`exists`). */
  async create(input: ScheduleDeclarationInput): Promise<ScheduleInfo> {
    return this.#info(await createSchedule(this.#database, input, this.#actor, 'client'));
  }

  /** Create it, or replace the definition of the database-owned schedule of that name. */
  async upsert(input: ScheduleDeclarationInput, options: VersionOption = {}): Promise<WriteResult> {
    return this.#result(
      await upsertSchedule(this.#database, input, this.#actor, { ifVersion: options.version }),
    );
  }

  /** Many at once, in batches (each all or nothing); problems are reported by index and name. */
  async upsertMany(items: readonly BulkItem[], options: BulkOptions = {}): Promise<BulkResult> {
    return upsertMany(this.#database, items, this.#actor, { ...options, source: 'client' });
  }

  /** Replace the whole definition (fields not given take their defaults, as in a declaration). */
  async replace(
    name: string,
    input: ScheduleDeclarationInput,
    options: VersionOption = {},
  ): Promise<WriteResult> {
    return this.#result(
      await replaceSchedule(this.#database, name, input, this.#actor, { ifVersion: options.version }),
    );
  }

  /** Change only the given fields. */
  async update(name: string, patch: SchedulePatch, options: VersionOption = {}): Promise<WriteResult> {
    return this.#result(
      await patchSchedule(this.#database, name, patch, this.#actor, { ifVersion: options.version }),
    );
  }

  /** Delete it (its history stays, by name). */
  async remove(name: string, options: VersionOption = {}): Promise<void> {
    await removeSchedule(this.#database, name, this.#actor, { ifVersion: options.version });
  }

  async get(name: string): Promise<ScheduleInfo | null> {
    const record = await findSchedule(this.#database.db, name);
    return record ? this.#info(record) : null;
  }

  /** Schedules by name, a page at a time. */
  async list(options: ListOptions = {}): Promise<ScheduleInfo[]> {
    const rows = await scheduleRecordsPage(this.#database.db, options);
    const now = await databaseNow(this.#database);
    const calendars = await calendarsOf(this.#database.db, rows);
    return rows.map((r) => scheduleInfo(r, now, calendars));
  }

  /**
   * Pause (any schedule: an operator's switch, apart from its definition). With `until` (a Date, an
   * ISO 8601 string with an offset, or a duration from now such as `'2h'`) the leader resumes it by
   * itself then, with the catch-up of a manual resume; without, it stays paused until `resume`.
   */
  async pause(name: string, options: { reason?: string; until?: Date | string } = {}): Promise<ScheduleInfo> {
    const { record } = await pause(
      this.#database,
      name,
      { reason: options.reason ?? null, until: options.until ?? null },
      this.#actor,
    );
    return this.#info(record);
  }

  /**
   * Skip its next `count` occurrences (default 1): each is recorded `skipped` with `reason` and
   * never sent (one already claimed ahead of its instant is taken back). Replaces a pending skip.
   */
  async skip(name: string, options: { count?: number; reason: string }): Promise<ScheduleInfo> {
    const { record } = await skip(
      this.#database,
      name,
      { count: options.count, reason: options.reason },
      this.#actor,
    );
    return this.#info(record);
  }

  /** End a pending skip (nothing happens when there is none). */
  async clearSkip(name: string): Promise<ScheduleInfo> {
    return this.#info((await clearSkip(this.#database, name, this.#actor)).record);
  }

  async resume(name: string): Promise<ScheduleInfo> {
    return this.#info((await resume(this.#database, name, this.#actor)).record);
  }

  /** Enable (database-owned only: a declaration owns its own `enabled`). */
  async enable(name: string): Promise<ScheduleInfo> {
    return this.#info((await setEnabled(this.#database, name, true, this.#actor)).record);
  }

  async disable(name: string): Promise<ScheduleInfo> {
    return this.#info((await setEnabled(this.#database, name, false, this.#actor)).record);
  }

  /** Run it now; the leader sends it through the run lock and overlap policy unless `force`. */
  async trigger(name: string, options: { force?: boolean } = {}): Promise<TriggerResult> {
    const t = await trigger(this.#database, name, options.force ?? false, this.#actor);
    return { name: t.name, taskId: t.taskId, scheduledFor: new Date(t.scheduledFor) };
  }

  /**
   * Fire its slots of a past range: recorded here, sent by the elected leader at the rate, each slot
   * at most once (a slot already in the ledger, but for one recorded missed, is not sent again).
   */
  async backfill(name: string, options: BackfillOptions): Promise<BackfillResult> {
    const request = {
      name,
      from: options.from.getTime(),
      to: options.to.getTime(),
      ...(options.ratePerSecond === undefined ? {} : { ratePerSecond: options.ratePerSecond }),
      confirm: options.confirm ?? false,
    };
    if (options.dryRun) return backfillResult(null, await planBackfill(this.#database, request));
    const { plan, backfill } = await requestBackfill(this.#database, request, this.#actor);
    return backfillResult(backfill.id, plan);
  }

  /** Cancel its open backfills (no further slot is claimed; runs already sent go on). */
  async cancelBackfills(name: string): Promise<BackfillInfo[]> {
    return cancelBackfill(this.#database, name, this.#actor);
  }

  /** Its backfills, newest first, with how far each got. */
  async backfills(name: string): Promise<BackfillInfo[]> {
    return listBackfills(this.#database, name);
  }

  /** Its next fires within its window (start, end, max runs), from now or `after`. */
  async nextFires(name: string, options: { count?: number; after?: Date } = {}): Promise<Date[]> {
    const record = await findSchedule(this.#database.db, name);
    if (!record) throw notFound(name);
    const now = options.after?.getTime() ?? (await databaseNow(this.#database));
    const count = Math.min(Math.max(options.count ?? 10, 1), 10_000);
    // The ones a pending skip takes are not fires: they are recorded skipped, never sent.
    const calendars = await calendarsOf(this.#database.db, [record]);
    return nextFires(viewRecord(record, now, calendars), now, count + record.skipCount)
      .filter((f) => !f.skipped)
      .slice(0, count)
      .map((f) => new Date(f.at));
  }

  /** Its occurrences, newest first (kept after the schedule is removed). */
  async history(name: string, options: HistoryOptions = {}): Promise<OccurrenceView[]> {
    return scheduleOccurrences(this.#database, name, {
      limit: Math.min(Math.max(options.limit ?? 50, 1), 1000),
      ...(options.before ? { before: options.before } : {}),
      ...(options.statuses ? { statuses: options.statuses } : {}),
    });
  }

  /** Close the connection it opened (a borrowed one stays open). */
  close(): Promise<void> {
    return this.#database.close();
  }

  async #info(record: Parameters<typeof scheduleInfo>[0]): Promise<ScheduleInfo> {
    const calendars = await calendarsOf(this.#database.db, [record]);
    return scheduleInfo(record, await databaseNow(this.#database), calendars);
  }

  async #result(result: EditResult): Promise<WriteResult> {
    return { schedule: await this.#info(result.record), action: result.action, changed: result.changed };
  }
}

function backfillResult(id: number | null, plan: BackfillPlan): BackfillResult {
  return {
    id,
    slots: plan.slots.map((s) => ({ ...s, scheduledFor: new Date(s.scheduledFor) })),
    toSend: plan.toSend,
  };
}

export async function openClient(options: ConnectOptions = {}): Promise<MetronomeClient> {
  const database = await openConnection(options);
  try {
    if (options.migrate) await migrateDatabase(database);
    // A database without Metronome's tables is a setup step missed, not a failed query later.
    const [found] = await database.rows<{ table: string | null }>(
      sql`select to_regclass('metronome.audit_log')::text as table`,
    );
    if (!found?.table) {
      throw new Error(
        `${database.target} has no Metronome tables: run 'beat migrate' against it (or connect({ migrate: true }))`,
      );
    }
  } catch (error) {
    await database.close();
    throw error;
  }
  return new MetronomeClient(database, clientActor(options.actor));
}
