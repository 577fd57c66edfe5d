/** Reading `metronome.audit_log` in tests, and the check that a record names this process's user. */
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import type { TestDatabase } from './pg.ts';

export interface AuditRow {
  actor: string;
  via: string;
  action: string;
  schedule_name: string;
  detail: Record<string, unknown>;
  at: Date;
}

/** The audit records, oldest first; of one schedule when a name is given. */
export async function auditRows(db: TestDatabase, scheduleName?: string): Promise<AuditRow[]> {
  const name = scheduleName ?? null;
  return db.sql<AuditRow[]>`
    select actor, via, action, schedule_name, detail, at from metronome.audit_log
     where ${name}::text is null or schedule_name = ${name} order by id`;
}

/** The record was made at the command line by this process's user (`user@host`). */
export function assertCliActor(row: AuditRow, what: string): void {
  assert.equal(row.via, 'cli', `${what}: recorded as done at the command line`);
  assert.match(row.actor, new RegExp(`@${hostname()}$`), `${what}: names user@host`);
}
