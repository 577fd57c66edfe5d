/**
 * A crontab's DST policy: what a local time that occurs twice (clocks go back) or not at all
 * (clocks go forward) does. docs/time.md, "DST: one rule, and a policy per schedule".
 *
 * - `repeated`: `first` (the earlier instant), `second` (the later one) or `both`.
 * - `missing`: `shift` (fire at the wall time read with the offset before the gap, i.e. later by the
 *   gap's length, as RFC 5545 and Temporal's "compatible" do) or `skip`.
 *
 * The default depends on the hour field, and is the engine's rule from before policies existed: a
 * fixed hour field (does not start with `*`) is a time of day, so `first` and `shift` (it runs once
 * a day, DST or not); an hour field starting with `*` follows real time, so `both` and `skip` (it
 * fires at every instant whose wall clock matches). A policy given in part keeps the default for
 * the other part. Stored as text in one canonical form, `repeated=first,missing=shift`.
 */
import { ScheduleSpecError } from './errors.ts';

export const DST_REPEATED = ['first', 'second', 'both'] as const;
export type DstRepeated = (typeof DST_REPEATED)[number];
export const DST_MISSING = ['shift', 'skip'] as const;
export type DstMissing = (typeof DST_MISSING)[number];

export interface DstPolicy {
  repeated: DstRepeated;
  missing: DstMissing;
}

/** A policy as declarations and rows give it: an object with either part, or the canonical text. */
export type DstPolicyInput = Partial<DstPolicy> | string;

const ALLOWED = `an object { repeated?: ${DST_REPEATED.join(' | ')}, missing?: ${DST_MISSING.join(
  ' | ',
)} }, or text such as "repeated=second,missing=skip"`;

/** The policy of a crontab that declares none (the engine's rule before policies existed). */
export function defaultDstPolicy(realTime: boolean): DstPolicy {
  return realTime ? { repeated: 'both', missing: 'skip' } : { repeated: 'first', missing: 'shift' };
}

/** The canonical text of a policy: `repeated=first,missing=shift`. */
export function formatDstPolicy(policy: DstPolicy): string {
  return `repeated=${policy.repeated},missing=${policy.missing}`;
}

/**
 * Validate a policy and fill in what it leaves out from the default for the expression. Null or
 * undefined is the default. Throws {@link ScheduleSpecError} naming field `dst`.
 */
export function parseDstPolicy(value: unknown, realTime: boolean): DstPolicy {
  const policy = defaultDstPolicy(realTime);
  if (value === undefined || value === null) return policy;
  const parts = typeof value === 'string' ? partsOfText(value) : value;
  if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) {
    throw new ScheduleSpecError('dst', value, 'not a DST policy', ALLOWED);
  }
  for (const [key, part] of Object.entries(parts)) {
    if (key === 'repeated' && (DST_REPEATED as readonly unknown[]).includes(part)) {
      policy.repeated = part as DstRepeated;
    } else if (key === 'missing' && (DST_MISSING as readonly unknown[]).includes(part)) {
      policy.missing = part as DstMissing;
    } else if (key === 'repeated' || key === 'missing') {
      const allowed = key === 'repeated' ? DST_REPEATED : DST_MISSING;
      throw new ScheduleSpecError(`dst.${key}`, part, 'not a DST choice', allowed.join(', '));
    } else if (part !== undefined) {
      throw new ScheduleSpecError('dst', value, `has an unknown part "${key}"`, ALLOWED);
    }
  }
  return policy;
}

/** `repeated=second,missing=skip` (either part, either order) as an object; anything else unchanged. */
function partsOfText(text: string): unknown {
  const parts: Record<string, string> = {};
  for (const item of text.split(',')) {
    const match = /^\s*(\w+)\s*=\s*(\w+)\s*$/.exec(item);
    if (!match || (match[1] as string) in parts) return text;
    parts[match[1] as string] = match[2] as string;
  }
  return parts;
}
