/**
 * The audit log's statements (`metronome.audit_log`): every operator action, written in the
 * transaction of the action itself, so an action is never done without its record nor recorded
 * without being done. Who did it is the caller's Actor (src/operate/actor.ts makes them).
 */
import { and, asc, desc, eq, gte, or, sql } from 'drizzle-orm';
import type { Database, Db } from '../database.ts';
import { type ActorVia, type AuditAction, auditLog, type Json } from '../schema.ts';

/**
 * Who did something: a person at the CLI, a caller of the API or of the client, or the beat itself
 * (`beat <holder>`, resuming a schedule whose pause has ended).
 */
export interface Actor {
  /**
   * `alice@build-7` at the CLI; at the API, the name the caller gave (X-Metronome-Actor) or `api`;
   * in the client, the name given to connect() or `user@host` of the process.
   */
  name: string;
  via: ActorVia;
  /** The API caller's address. */
  address: string | null;
}

/**
 * What was done. `pause` records its `reason` and `until` (null: until resumed by hand); `resume`
 * the pause's start, reason and `until`, and `byItself: true` when the leader resumed it because
 * its pause had ended (the actor is then the beat, `via: beat`); `skip` the `count` and `reason`
 * set (`count: 0` and `cleared` for `beat skip --clear`). `create`, `update` and `remove` (the
 * client, the API, `beat add|remove`) record the schedule's `version` after the action and, for
 * `update`, the fields it `changed`: a version conflict names the actions that moved the version
 * (see {@link actionsSinceVersion}). `sync` and `import` (`beat sync`, `beat import`) record one
 * per schedule they write: `change` (create, update or remove), the `version` it left, the columns
 * an update `changed`, and the declaration's `file` or the import's `source`. `calendar` is recorded
 * for each schedule that names a business calendar an operator edited (an edit of the schedule):
 * the `calendar`, the `change` (import, add-day, remove-day, weekdays, delete) and the schedule's
 * `version` after it.
 */
export type Action = AuditAction;

/** What a `sync` or an `import` did to one schedule (its record's `detail.change`). */
export type WriteChange = 'create' | 'update' | 'remove';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  via: ActorVia;
  address: string | null;
  action: Action;
  schedule: string;
  detail: Record<string, Json>;
}

export async function recordAction(
  db: Db,
  actor: Actor,
  action: Action,
  scheduleName: string,
  detail: Record<string, Json>,
): Promise<void> {
  await db.insert(auditLog).values({
    actor: actor.name,
    via: actor.via,
    address: actor.address,
    action,
    scheduleName,
    detail,
  });
}

export interface BulkAuditEntry {
  name: string;
  action: Action;
  detail: Record<string, unknown>;
}

/**
 * Record many actions in the transaction `tx` that did them (a bulk upsert, a sync, an import): one
 * statement whatever their number (one JSON parameter read by `jsonb_to_recordset`, as the bulk
 * upsert's own statements: src/db/sql/schedules-bulk.ts).
 */
export async function recordActions(
  database: Database,
  tx: Db,
  actor: Actor,
  entries: BulkAuditEntry[],
): Promise<void> {
  if (entries.length === 0) return;
  const json = JSON.stringify(
    entries.map((e) => ({ schedule_name: e.name, action: e.action, detail: e.detail })),
  );
  await database.rows(
    sql`insert into metronome.audit_log (actor, via, address, action, schedule_name, detail)
        select ${actor.name}, ${actor.via}, ${actor.address}, action, schedule_name, detail
        from jsonb_to_recordset(${json}::jsonb) as r(schedule_name text, action text, detail jsonb)`,
    tx,
  );
}

/** The latest actions, newest first; of one schedule when a name is given. */
export async function recentActions(db: Db, limit: number, scheduleName?: string): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(scheduleName === undefined ? undefined : eq(auditLog.scheduleName, scheduleName))
    .orderBy(desc(auditLog.id))
    .limit(limit);
  return rows.map(entryOf);
}

/**
 * The recorded actions that moved a schedule past `version`, oldest first: those since its latest
 * creation (`create`, or a sync's or import's `change: create`; a name can be reused after a
 * remove) whose recorded version is above it.
 */
export async function actionsSinceVersion(
  db: Db,
  scheduleName: string,
  version: number,
): Promise<AuditEntry[]> {
  const created = db
    .select({ id: sql`max(${auditLog.id})` })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.scheduleName, scheduleName),
        or(eq(auditLog.action, 'create'), sql`${auditLog.detail}->>'change' = 'create'`),
      ),
    );
  const rows = await db
    .select()
    .from(auditLog)
    .where(
      and(
        eq(auditLog.scheduleName, scheduleName),
        gte(auditLog.id, sql`coalesce((${created}), 0)`),
        sql`(${auditLog.detail}->>'version')::bigint > ${version}`,
      ),
    )
    .orderBy(asc(auditLog.id))
    .limit(20);
  return rows.map(entryOf);
}

function entryOf(r: typeof auditLog.$inferSelect): AuditEntry {
  return {
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    via: r.via,
    address: r.address,
    action: r.action,
    schedule: r.scheduleName,
    detail: r.detail,
  };
}
