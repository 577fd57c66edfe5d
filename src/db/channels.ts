/**
 * The LISTEN/NOTIFY channels, named once. A notification only wakes a listener early: whoever
 * listens also polls or reconciles, since notifications are lost while a connection is down.
 * - `metronome_schedules`: every change to a schedule row, sent by the trigger the migrations
 *   install (payload: `{"id", "op", "version"}`; migrations/0002_runtime.sql). The leader refreshes
 *   those schedules.
 * - `metronome_trigger`: a manual run was inserted (`beat trigger`; payload: its task id). The
 *   leader sends it now instead of at its next sweep.
 * - `metronome_leader`: the lease was given up (payload: the group). Standbys try to take it now.
 */
export const SCHEDULES_CHANNEL = 'metronome_schedules';
export const TRIGGER_CHANNEL = 'metronome_trigger';
export const LEADER_CHANNEL = 'metronome_leader';

/** One `metronome_schedules` notification: which row, what happened to it, the version it left. */
export interface ScheduleChange {
  id: number;
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  version: number;
}

/** A `metronome_schedules` payload read; throws on one that is not JSON. */
export function parseScheduleChange(payload: string): ScheduleChange {
  const change = JSON.parse(payload) as ScheduleChange;
  return { id: Number(change.id), op: change.op, version: Number(change.version) };
}
