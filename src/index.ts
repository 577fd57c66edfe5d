/**
 * Metronome's public API, as `import { ... } from 'metronome'`: what `schedules/*.ts` files use to
 * declare schedules, the client that creates and changes them from an application (`connect`), and
 * the types they need.
 */

export type {
  BackfillInfo,
  BackfillOptions,
  BackfillResult,
  ConnectOptions,
  HistoryOptions,
  ListOptions,
  MetronomeClient,
  TriggerResult,
  VersionOption,
  WriteResult,
} from './client/client.ts';
export { connect } from './client/connect.ts';
export type { ScheduleInfo } from './client/schedule.ts';
export type { AuditEntry } from './db/sql/audit.ts';
export type {
  CalendarDeclaration,
  CalendarDeclarationInput,
  CrontabOptions,
  EveryOptions,
  ScheduleDeclaration,
} from './declare/api.ts';
export {
  at,
  clocked,
  crontab,
  defineCalendar,
  defineSchedule,
  every,
  isCalendarDeclaration,
  isScheduleDeclaration,
  solar,
} from './declare/api.ts';
export type { AlertBody } from './model/alert-message.ts';
export { verifyAlertSignature } from './model/alert-message.ts';
export type { Duration, JsonObject, JsonValue, ScheduleDeclarationInput } from './model/index.ts';
export type { OccurrenceView } from './observe/history.ts';
export type { BulkBatch, BulkItem, BulkItemError, BulkOptions, BulkResult } from './operate/bulk.ts';
export type { SchedulePatch } from './operate/edit.ts';
export { InvalidScheduleError, OperationError, VersionConflictError } from './operate/errors.ts';
export type { CalendarAction, CeleryCrontab, InstantInput, ScheduleSpec, SolarEvent } from './time/index.ts';
