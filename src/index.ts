/**
 * Metronome's public API, as `import { ... } from 'metronome'`: what `schedules/*.ts` files use to
 * declare schedules, and the types they need.
 */

export type { CrontabOptions, EveryOptions, ScheduleDeclaration } from './declare/api.ts';
export { at, clocked, crontab, defineSchedule, every, isScheduleDeclaration, solar } from './declare/api.ts';
export type { Duration, JsonObject, JsonValue, ScheduleDeclarationInput } from './model/index.ts';
export type { CeleryCrontab, InstantInput, ScheduleSpec, SolarEvent } from './time/index.ts';
