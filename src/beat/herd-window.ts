/**
 * How far ahead a herd must be claimed. METRONOME_CLAIM_AHEAD (docs/runtime.md, "Claim ahead") is
 * enough for a steady load, but 100,000 schedules due at one instant take the leader tens of seconds
 * to claim: claimed from only 2 s before, most of them would be claimed — and sent — late. The
 * leader therefore looks at how many schedules are due in each coming second (the due index counts
 * them) and at how fast it claims, and begins a herd's claims early enough that they are all made
 * before its instant. Pure: no I/O, no clock.
 */

export interface HerdInput {
  /** Database ms. */
  now: number;
  /** The configured lookahead: what lies within it is claimed anyway. */
  baseMs: number;
  /** The furthest ahead a herd is claimed (half the memory horizon: the book holds it). */
  maxMs: number;
  /** Claims a second the leader can count on (claim-rate.ts: half of what it measured). */
  claimsPerSecond: number;
  /** Schedules due within the second starting at `second` × 1000 ms. */
  countInSecond: (second: number) => number;
}

/**
 * The leader looks again at least this often (its longest sleep): a herd's claims start this much
 * before the last moment they could.
 */
const LOOK_EVERY_MS = 1_000;

/**
 * The instant up to which claims must be made now, beyond the configured lookahead; undefined when
 * nothing ahead needs an early start, or when there is no lookahead (0: claims at the instant). A
 * second needs an early start when the claims of everything due from now to its start would take
 * longer than the lookahead (claimed from only that far ahead, it would be late), and it is due
 * for claiming once they would take about as long as the time left before it (within the next
 * look). Claiming everything up to such a second now, nearest first, has its schedules claimed
 * before their instant. As claims are made the counts fall, so a herd is claimed at the pace it
 * needs; the nearer a steady load is to the claim rate, the further ahead it is claimed.
 */
export function herdClaimUntil(input: HerdInput): number | undefined {
  const { now, baseMs, maxMs, claimsPerSecond } = input;
  if (baseMs <= 0) return undefined;
  const limit = now + Math.max(baseMs, maxMs);
  let pending = 0;
  let until: number | undefined;
  for (let second = Math.floor(now / 1000); second * 1000 <= limit; second++) {
    const count = input.countInSecond(second);
    pending += count;
    // The second's first instant: its earliest schedule must be claimed by then.
    const startsIn = second * 1000 - now;
    if (count === 0 || startsIn <= baseMs) continue; // nothing there, or claimed anyway
    const claimingMs = (pending / claimsPerSecond) * 1000;
    if (claimingMs > baseMs && startsIn - claimingMs <= LOOK_EVERY_MS)
      until = Math.min(second * 1000 + 999, limit);
  }
  return until !== undefined && until > now + baseMs ? until : undefined;
}
