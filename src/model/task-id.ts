/**
 * Deterministic task ids: a UUID v5 of (schedule id, scheduled instant). The same occurrence gets
 * the same id on every leader, so a re-send after a crash is recognisably the same run (BullMQ
 * dedupes on it; Celery's result backend keys on it). A UUID has no ":" — BullMQ refuses job ids
 * with one.
 */
import { createHash } from 'node:crypto';

/** The namespace of Metronome occurrences (a fixed random UUID). */
const NAMESPACE = Buffer.from('6b1f0c52e4a94c0e9f0f3d1b8e7a2c61', 'hex');

export function taskIdFor(scheduleId: number, scheduledFor: number): string {
  const hash = createHash('sha1').update(NAMESPACE).update(`${scheduleId}/${scheduledFor}`).digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x50; // version 5
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
