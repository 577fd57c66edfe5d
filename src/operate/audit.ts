/**
 * The audit log (`metronome.audit_log`): every operator action, written in the transaction of the
 * action itself, so an action is never done without its record nor recorded without being done.
 */
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { auditLog, type Json } from '../db/schema.ts';
import type { Actor } from './actor.ts';

export type Action = 'pause' | 'resume' | 'trigger' | 'enable' | 'disable';

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  via: string;
  address: string | null;
  action: string;
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

/** The latest actions, newest first; of one schedule when a name is given. */
export async function recentActions(db: Db, limit: number, scheduleName?: string): Promise<AuditEntry[]> {
  const rows = await db
    .select()
    .from(auditLog)
    .where(scheduleName === undefined ? undefined : eq(auditLog.scheduleName, scheduleName))
    .orderBy(desc(auditLog.id))
    .limit(limit);
  return rows.map((r) => ({
    id: r.id,
    at: r.at.toISOString(),
    actor: r.actor,
    via: r.via,
    address: r.address,
    action: r.action,
    schedule: r.scheduleName,
    detail: r.detail,
  }));
}
