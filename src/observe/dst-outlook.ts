/**
 * A crontab's DST policy and what it does at the coming clock changes that touch the expression
 * (which fire is skipped, shifted, run at the first or second pass, or at both): `beat next`
 * prints it and the dashboard's schedule page marks it, from this one function, so both say the same.
 */
import { describeDstEffect, describeDstPolicy } from '../model/describe.ts';
import { DAY, type Schedule, ZoneRules } from '../time/index.ts';

/** How far ahead clock changes are looked for. */
export const DST_LOOKAHEAD_MS = 2 * 366 * DAY;
/** How many of them are listed. */
export const DST_CHANGES_SHOWN = 4;

export interface DstChangeView {
  /** The instant the clocks change, ISO 8601 (UTC). */
  at: string;
  /** `gap`: a time that does not exist; `fold`: a time that occurs twice. */
  kind: 'gap' | 'fold';
  /** What the policy does: `shifted`, `skipped`, `first`, `second`, `both`. */
  outcome: string;
  /** In words, with the local and UTC times of the fires it makes. */
  text: string;
}

export interface DstOutlook {
  zone: string;
  /** The policy in words. */
  policy: string;
  /** The schedule names its policy (false: the default for its expression). */
  declared: boolean;
  /** The coming clock changes that touch it, earliest first (empty: none within two years). */
  changes: DstChangeView[];
}

/** Null for a schedule DST cannot touch (not a crontab in local time). */
export function dstOutlook(schedule: Schedule, after: number, declared: boolean): DstOutlook | null {
  if (!schedule.dst) return null;
  const zone = ZoneRules.get(schedule.timezone);
  const changes = schedule
    .dstEffects(after, after + DST_LOOKAHEAD_MS)
    .slice(0, DST_CHANGES_SHOWN)
    .map((effect) => ({
      at: new Date(effect.at).toISOString(),
      kind: effect.kind,
      outcome: effect.outcome,
      text: describeDstEffect(effect, zone),
    }));
  return { zone: zone.name, policy: describeDstPolicy(schedule.dst), declared, changes };
}
