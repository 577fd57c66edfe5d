/**
 * What the harness did to the schedules, as data: every insert, edit, pause, resume, delete and
 * trigger with the database time it took effect and the row it left. The slot invariant computes
 * each schedule's expected slots from this history with the time engine.
 */
import type { ScheduleRecord } from '../../src/model/index.ts';
import type { ChaosSchedule } from './plan.ts';

export type ChangeKind = 'insert' | 'timing' | 'other' | 'pause' | 'resume' | 'delete' | 'skip';

export interface Change {
  /** Database time (epoch ms) read right after the statement returned. */
  at: number;
  kind: ChangeKind;
  /**
   * `cursor`: the statement set next_fire_at (as `beat add`, `beat sync` do), so the schedule's next
   * slot is known; `sql`: it left next_fire_at to the runtime (the update trigger clears it and the
   * leader computes the next fire from the moment it reads the change).
   */
  style?: 'cursor' | 'sql';
  /** The row after the change (absent for a delete). */
  record?: ScheduleRecord;
  /**
   * skip (`beat skip`): the count and reason set, and the count the schedule had left just before
   * (a new skip replaces it; read under the row lock, so what the leader consumed is exact).
   */
  skip?: { count: number; reason: string; previousCount: number };
}

export interface ScheduleHistory {
  id: number;
  name: string;
  role: ChaosSchedule['role'];
  changes: Change[];
}

export interface Trigger {
  at: number;
  schedule: string;
  scheduleId: number;
  taskId?: string;
  error?: string;
}

/** A backfill the harness requested (`beat backfill`), with the slots its range held then. */
export interface BackfillRequest {
  at: number;
  id: number;
  schedule: string;
  scheduleId: number;
  from: number;
  to: number;
  ratePerSecond: number;
  /** The range's slots when it was requested (the time engine's, as the dry run lists them). */
  slots: number[];
}

export class World {
  /** By schedule id. */
  readonly histories = new Map<number, ScheduleHistory>();
  readonly triggers: Trigger[] = [];
  readonly backfills: BackfillRequest[] = [];
  /** Edits that could not be applied (no candidate, or the statement failed). */
  readonly failedEdits: Array<{ at: number; kind: string; error: string }> = [];

  record(id: number, name: string, role: ChaosSchedule['role'], change: Change): void {
    const history = this.histories.get(id) ?? { id, name, role, changes: [] };
    history.changes.push(change);
    this.histories.set(id, history);
  }

  /** The live schedules (not deleted), by name order, with their last row. */
  live(): Array<{ history: ScheduleHistory; record: ScheduleRecord; paused: boolean }> {
    const out = [];
    for (const history of this.histories.values()) {
      const last = history.changes[history.changes.length - 1];
      if (!last || last.kind === 'delete' || !last.record) continue;
      out.push({ history, record: last.record, paused: last.record.pausedAt !== null });
    }
    return out.sort((a, b) => a.history.name.localeCompare(b.history.name));
  }
}
