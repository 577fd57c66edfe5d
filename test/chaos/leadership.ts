/**
 * Invariant 4 and the leader timeline the other invariants lean on (pure).
 *
 * A beat *leads effectively* from its `leading` log line until the first of: its `stepped down`
 * line, the harness's SIGKILL or SIGSTOP of it, or its exit. A frozen leader may still believe it
 * leads, but it can do nothing, so its effective leadership ends when it is frozen. The longest
 * stretch inside the run with no effective leader is compared with the lease TTL + 1 s (a crashed
 * or frozen leader's lease runs out within the TTL; a standby takes it within a poll).
 *
 * The timeline also answers `leaderTime(a, b)`: how long some beat led within [a, b]. The slot
 * invariant uses it to tell "no beat could have acted" from "a beat could have and did not".
 */
import type { ClusterEvent } from './cluster.ts';
import type { BeatLog } from './evidence.ts';

export interface Interval {
  from: number;
  to: number;
}

export interface LeaderSpan extends Interval {
  beat: string;
  epoch?: number;
  endedBy: string;
}

export interface LeaderGap extends Interval {
  /** What ended the leadership before the gap. */
  after: string;
}

export interface Leadership {
  spans: LeaderSpan[];
  /** The union of the spans. */
  union: Interval[];
  gaps: LeaderGap[];
  longestGap: LeaderGap | undefined;
  /** Two beats leading at once (by their own account), longest first; informational. */
  doubles: Array<{ a: LeaderSpan; b: LeaderSpan; ms: number }>;
  leaderTime(from: number, to: number): number;
}

/** `beatOf(event)` names the log (beat-<slot>.<incarnation>) of the process an event concerns. */
export function leadership(
  logs: BeatLog[],
  events: ClusterEvent[],
  beatOf: (event: ClusterEvent) => string | undefined,
  window: Interval,
): Leadership {
  type Mark = { t: number; beat: string; kind: 'lead' | 'end'; why: string; epoch?: number };
  const marks: Mark[] = [];
  for (const l of logs) {
    if (l.msg === 'leading')
      marks.push({ t: l.t, beat: l.beat, kind: 'lead', why: 'leading', epoch: l.epoch });
    else if (l.msg === 'stepped down')
      marks.push({ t: l.t, beat: l.beat, kind: 'end', why: `stepped down (${l.reason ?? '?'})` });
  }
  for (const e of events) {
    if (e.kind !== 'beat-kill' && e.kind !== 'beat-stop' && e.kind !== 'beat-exit') continue;
    const beat = beatOf(e);
    if (beat) marks.push({ t: e.t, beat, kind: 'end', why: e.kind });
  }
  marks.sort((a, b) => a.t - b.t || (a.kind === 'end' ? -1 : 1));
  const open = new Map<string, Mark>();
  const spans: LeaderSpan[] = [];
  for (const m of marks) {
    const current = open.get(m.beat);
    if (m.kind === 'lead') {
      if (!current) open.set(m.beat, m);
    } else if (current) {
      spans.push({ beat: m.beat, epoch: current.epoch, from: current.t, to: m.t, endedBy: m.why });
      open.delete(m.beat);
    }
  }
  for (const [beat, m] of open)
    spans.push({ beat, epoch: m.epoch, from: m.t, to: window.to, endedBy: 'the end' });
  spans.sort((a, b) => a.from - b.from);

  const union = unionOf(spans);
  const gaps: LeaderGap[] = [];
  let cursor = Math.max(window.from, union[0]?.from ?? window.from);
  for (const u of union) {
    if (u.from > cursor && u.from <= window.to)
      gaps.push({ from: cursor, to: u.from, after: endedBefore(spans, cursor) });
    cursor = Math.max(cursor, u.to);
  }
  if (cursor < window.to) gaps.push({ from: cursor, to: window.to, after: endedBefore(spans, cursor) });
  const longestGap = [...gaps].sort((a, b) => b.to - b.from - (a.to - a.from))[0];

  const doubles: Leadership['doubles'] = [];
  for (let i = 0; i < spans.length; i++)
    for (let j = i + 1; j < spans.length; j++) {
      const a = spans[i] as LeaderSpan;
      const b = spans[j] as LeaderSpan;
      if (b.from >= a.to) continue;
      if (a.beat !== b.beat) doubles.push({ a, b, ms: Math.min(a.to, b.to) - b.from });
    }
  doubles.sort((x, y) => y.ms - x.ms);

  return {
    spans,
    union,
    gaps,
    longestGap,
    doubles,
    leaderTime: (from, to) => overlapWith(union, from, to),
  };
}

export function unionOf(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to) last.to = Math.max(last.to, i.to);
    else out.push({ from: i.from, to: i.to });
  }
  return out;
}

/** Total length of `union` (sorted, disjoint) inside [from, to]. */
export function overlapWith(union: Interval[], from: number, to: number): number {
  let total = 0;
  for (const u of union) {
    if (u.from >= to) break;
    const a = Math.max(u.from, from);
    const b = Math.min(u.to, to);
    if (b > a) total += b - a;
  }
  return total;
}

function endedBefore(spans: LeaderSpan[], t: number): string {
  const last = spans.filter((s) => s.to <= t + 1).sort((a, b) => b.to - a.to)[0];
  return last ? `${last.beat} (epoch ${last.epoch ?? '?'}): ${last.endedBy}` : 'start-up';
}
