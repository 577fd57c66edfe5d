/**
 * "Now": everything an on-call engineer asks first, in one read: who leads and since when, which
 * replicas are there, the last leader changes, dispatch lag, what went wrong in the last hour and
 * day, what is in flight, which rows are invalid, and the last operator actions.
 */

import type { Database } from '../db/database.ts';
import { type AuditEntry, recentActions } from '../db/sql/audit.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { invalidSchedules } from '../db/sql/schedules-read.ts';
import { databaseNow } from '../db/store.ts';
import {
  type InFlight,
  inFlight,
  type LagStats,
  lagLastHour,
  type ProblemCounts,
  problemCounts,
} from './dispatch-stats.ts';
import { currentLeader, type LeaderChange, type LeaderView, leaderChanges } from './leader.ts';
import { type ReplicaView, recentReplicas } from './replicas.ts';
import { viewRecord } from './schedule-view.ts';

interface InvalidRow {
  name: string;
  column: string | null;
  problem: string;
  reason: string;
}

export interface NowView {
  now: string;
  leader: LeaderView;
  replicas: ReplicaView[];
  leaderChanges: LeaderChange[];
  lag: LagStats;
  problems: { hour: ProblemCounts; day: ProblemCounts };
  inFlight: InFlight;
  invalid: InvalidRow[];
  actions: AuditEntry[];
}

const INVALID_SHOWN = 50;

export async function nowView(
  database: Database,
  options: { group: string; replicaAliveMs: number },
): Promise<NowView> {
  const now = await databaseNow(database);
  return {
    now: new Date(now).toISOString(),
    leader: await currentLeader(database, options.group),
    replicas: await recentReplicas(database, options.group, options.replicaAliveMs),
    leaderChanges: await leaderChanges(database, options.group, 10),
    lag: await lagLastHour(database),
    problems: await problemCounts(database),
    inFlight: await inFlight(database),
    invalid: await invalidRows(database, now),
    actions: await recentActions(database.db, 10),
  };
}

async function invalidRows(database: Database, now: number): Promise<InvalidRow[]> {
  const rows = await invalidSchedules(database, INVALID_SHOWN);
  const calendars = await calendarsOf(database.db, rows);
  return rows.map((row) => {
    const view = viewRecord(row, now, calendars);
    // Judged afresh; a row fixed since the leader last looked shows its stored reason until then.
    const reason = view.invalidReason ?? (row.invalidReason as string);
    return { name: row.name, column: view.invalidColumn, problem: view.invalidProblem ?? reason, reason };
  });
}
