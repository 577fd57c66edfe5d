/**
 * Deadlines: how one occurrence of a schedule stood against "must have started within D1 after its
 * slot" and "must have finished within D2 after its slot", decided from what the ledger knows of it,
 * and which alerts that raises. Pure: no clock, no I/O — the leader's deadline watch
 * (src/beat/deadline-watch.ts) reads the facts and writes what this decides.
 *
 * Invariants kept here:
 * - A breach is known as soon as it is certain (a run not started by D1 is late at D1, whether it
 *   starts later or never), so an alert goes out at the deadline, not when the run ends.
 * - An outcome is decided once, when the occurrence is over (or, for a run still going, never
 *   before its status is final); a decided occurrence is not judged again.
 * - Alerts per schedule are grouped: while a schedule is in breach of a kind, another breach of the
 *   same kind raises no second alert (the dashboard and the counters still count it); the first
 *   occurrence on time after a breach raises one recovery. Each alert has a key that names it
 *   exactly (schedule, slot, kind), so raising it twice — two leaders, a retry — adds nothing.
 */

/** How an occurrence stood against its deadlines (the `deadline_outcome` column). */
export const DEADLINE_OUTCOMES = [
  'on_time',
  'started_late',
  'not_finished',
  'failed',
  'missed',
  'skipped',
] as const;
export type DeadlineOutcome = (typeof DEADLINE_OUTCOMES)[number];

/** The outcomes that are a breach (on_time is not; a pause by an operator is skipped, no breach). */
export const BREACH_KINDS = ['started_late', 'not_finished', 'failed', 'missed', 'skipped'] as const;
export type BreachKind = (typeof BREACH_KINDS)[number];

/** What an alert says: a breach of one kind, or that the schedule is back on time. */
export const ALERT_KINDS = [...BREACH_KINDS, 'recovered'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface Deadlines {
  /** Must have started within this many ms after the slot; null: no start deadline. */
  startMs: number | null;
  /** Must have finished within this many ms after the slot; null: no finish deadline. */
  finishMs: number | null;
}

/** What the ledger knows of one occurrence (times in ms, database time). */
export interface OccurrenceFacts {
  scheduledFor: number;
  /** The ledger's status (src/db/schema.ts, OCCURRENCE_STATUSES). */
  status: string;
  /** When the run was first seen started; null when no start was seen. */
  startedAt: number | null;
  /** When its end was recorded; null while it is not over. */
  finishedAt: number | null;
  /** Why it ended as it did (the worker's error, the reason a slot was missed or skipped). */
  error: string | null;
}

export interface Breach {
  kind: BreachKind;
  reason: string;
}

export interface Judgement {
  /** Breaches certain by now (each raised at most once, by its kind). */
  breaches: Breach[];
  /** The outcome once the occurrence is over; null while it can still change. */
  outcome: { kind: DeadlineOutcome; reason: string } | null;
  /** How late the run started after its slot (ms), when known (its finish bounds it when no start was seen). */
  latenessMs: number | null;
}

/**
 * Why a slot was recorded missed when an operator's change took it away (src/beat/claimed-ahead.ts,
 * src/beat/batch.ts): not a breach of its deadlines.
 */
const OPERATOR_CHANGE = /^(taken back: |missed: the schedule was (removed|edited) )/;

/** The statuses of an occurrence still on its way (claimed, waiting, sent, running). */
const OPEN = new Set(['claimed', 'buffered', 'enqueued', 'running']);

/** Whether a schedule has any deadline at all (one without costs nothing: it is never judged). */
export function hasDeadlines(d: Deadlines): boolean {
  return d.startMs !== null || d.finishMs !== null;
}

/** `1m 30s` style, whole seconds (deadlines are at least a second). */
export function formatSpan(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  const units: Array<[number, string]> = [
    [86_400, 'd'],
    [3_600, 'h'],
    [60, 'm'],
    [1, 's'],
  ];
  let rest = total;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  return parts.length === 0 ? '0s' : parts.join(' ');
}

/**
 * Judge one occurrence at `now`. The start is the one seen; a run that finished with no start seen
 * (a fast task between two looks, a transport that reports no start) started at its finish at the
 * latest, which is what it is judged by.
 */
export function judge(deadlines: Deadlines, o: OccurrenceFacts, now: number): Judgement {
  const open = OPEN.has(o.status);
  const startBound = o.startedAt ?? (o.status === 'succeeded' ? o.finishedAt : null);
  const latenessMs = startBound === null ? null : startBound - o.scheduledFor;
  const breaches: Breach[] = [];
  const startLate = startBreach(deadlines, o, startBound, open, now);
  if (startLate) breaches.push(startLate);
  const finishLate = finishBreach(deadlines, o, open, now);
  if (finishLate) breaches.push(finishLate);
  if (open) return { breaches, outcome: null, latenessMs };
  const ended = endedOutcome(o);
  if (ended) {
    if (ended.breach) breaches.push({ kind: ended.kind as BreachKind, reason: ended.reason });
    return { breaches, outcome: { kind: ended.kind, reason: ended.reason }, latenessMs };
  }
  // Succeeded: late to finish weighs more than late to start.
  const worst = finishLate ?? startLate;
  const outcome = worst
    ? { kind: worst.kind as DeadlineOutcome, reason: worst.reason }
    : { kind: 'on_time' as const, reason: onTimeReason(deadlines, o, latenessMs) };
  return { breaches, outcome, latenessMs };
}

function startBreach(
  d: Deadlines,
  o: OccurrenceFacts,
  startBound: number | null,
  open: boolean,
  now: number,
): Breach | null {
  if (d.startMs === null) return null;
  const due = o.scheduledFor + d.startMs;
  const limit = `its start deadline of ${formatSpan(d.startMs)}`;
  if (o.startedAt !== null) {
    return o.startedAt > due
      ? {
          kind: 'started_late',
          reason: `started ${formatSpan(o.startedAt - o.scheduledFor)} after its slot, past ${limit}`,
        }
      : null;
  }
  if (startBound !== null) {
    return startBound > due
      ? {
          kind: 'started_late',
          reason: `no start was seen and it finished ${formatSpan(startBound - o.scheduledFor)} after its slot, past ${limit}`,
        }
      : null;
  }
  // Not started: late once the deadline has passed while it still may run.
  if (open && now > due) {
    return { kind: 'started_late', reason: `not started ${formatSpan(d.startMs)} after its slot (${limit})` };
  }
  return null;
}

function finishBreach(d: Deadlines, o: OccurrenceFacts, open: boolean, now: number): Breach | null {
  if (d.finishMs === null) return null;
  const due = o.scheduledFor + d.finishMs;
  const limit = `its finish deadline of ${formatSpan(d.finishMs)}`;
  if (open) {
    return now > due
      ? {
          kind: 'not_finished',
          reason: `not finished ${formatSpan(d.finishMs)} after its slot (${limit}); ${o.status === 'running' ? 'still running' : o.startedAt === null ? 'not started' : 'still going'}`,
        }
      : null;
  }
  if (o.status === 'succeeded' && o.finishedAt !== null && o.finishedAt > due) {
    return {
      kind: 'not_finished',
      reason: `finished ${formatSpan(o.finishedAt - o.scheduledFor)} after its slot, past ${limit}`,
    };
  }
  return null;
}

/** The outcome of an occurrence that ended other than by succeeding, or null when it succeeded. */
function endedOutcome(o: OccurrenceFacts): { kind: DeadlineOutcome; reason: string; breach: boolean } | null {
  const why = o.error ? `: ${o.error}` : '';
  switch (o.status) {
    case 'succeeded':
      return null;
    case 'failed':
      return { kind: 'failed', reason: `the run failed${why}`, breach: true };
    case 'revoked':
      return { kind: 'failed', reason: `the run was revoked${why}`, breach: true };
    case 'expired':
      return {
        kind: 'missed',
        reason: `the worker dropped it unstarted past its expiry${why}`,
        breach: true,
      };
    case 'missed':
      // A slot an operator's change took away (pause, disable, edit, removal) is theirs, no breach.
      if (o.error && OPERATOR_CHANGE.test(o.error))
        return { kind: 'skipped', reason: `not run: ${o.error}`, breach: false };
      // The runtime's reasons already say `missed: ...`.
      return {
        kind: 'missed',
        reason: `the slot was not run${o.error ? `: ${o.error.replace(/^missed: /, '')}` : ''}`,
        breach: true,
      };
    case 'lease_ended':
      return o.startedAt === null
        ? { kind: 'missed', reason: `no start and no finish were seen${why}`, breach: true }
        : { kind: 'not_finished', reason: `started, then no finish was seen${why}`, breach: true };
    case 'skipped_overlap':
      return {
        kind: 'skipped',
        reason: `skipped: the previous run still held the run lock (overlap policy)${why}`,
        breach: true,
      };
    case 'paused':
      return { kind: 'skipped', reason: `not run: the schedule was paused${why}`, breach: false };
    case 'skipped':
      // `beat skip`: the operator's reason is in the error (`skipped: ...`).
      return { kind: 'skipped', reason: `not run: ${o.error ?? 'skipped by an operator'}`, breach: false };
    default:
      return { kind: 'missed', reason: `ended as ${JSON.stringify(o.status)}${why}`, breach: true };
  }
}

function onTimeReason(d: Deadlines, o: OccurrenceFacts, latenessMs: number | null): string {
  const parts: string[] = [];
  if (latenessMs !== null) parts.push(`started within ${formatSpan(latenessMs)}`);
  if (o.finishedAt !== null && d.finishMs !== null)
    parts.push(`finished within ${formatSpan(o.finishedAt - o.scheduledFor)}`);
  return parts.length > 0 ? `on time: ${parts.join(', ')}` : 'on time';
}

/** An alert to raise: its key names it exactly, so raising it again adds nothing. */
export interface AlertToRaise {
  key: string;
  scheduleId: number;
  scheduleName: string;
  scheduledFor: number;
  kind: AlertKind;
  reason: string;
}

/** The idempotency key of an alert: the schedule, the slot and the kind. */
export function alertKey(scheduleId: number, scheduledFor: number, kind: AlertKind): string {
  return `metronome:${scheduleId}:${new Date(scheduledFor).toISOString()}:${kind}`;
}

export interface JudgedOccurrence {
  scheduleId: number;
  scheduleName: string;
  scheduledFor: number;
  judgement: Judgement;
}

/**
 * The alerts a pass raises, given each schedule's open breach kinds (those alerted since its last
 * recovery). Occurrences are taken in slot order per schedule; `open` is updated in place to the
 * state after them.
 */
export function alertsToRaise(
  open: Map<number, Set<BreachKind>>,
  judged: readonly JudgedOccurrence[],
): AlertToRaise[] {
  const raised: AlertToRaise[] = [];
  const ordered = [...judged].sort((a, b) => a.scheduleId - b.scheduleId || a.scheduledFor - b.scheduledFor);
  for (const j of ordered) {
    const kinds = open.get(j.scheduleId) ?? new Set<BreachKind>();
    const base = { scheduleId: j.scheduleId, scheduleName: j.scheduleName, scheduledFor: j.scheduledFor };
    for (const breach of j.judgement.breaches) {
      if (kinds.has(breach.kind)) continue;
      kinds.add(breach.kind);
      raised.push({ ...base, key: alertKey(j.scheduleId, j.scheduledFor, breach.kind), ...breach });
    }
    if (j.judgement.outcome?.kind === 'on_time' && kinds.size > 0) {
      raised.push({
        ...base,
        key: alertKey(j.scheduleId, j.scheduledFor, 'recovered'),
        kind: 'recovered',
        reason: `back on time after ${[...kinds].sort().join(', ')}: ${j.judgement.outcome.reason}`,
      });
      kinds.clear();
    }
    if (kinds.size > 0) open.set(j.scheduleId, kinds);
    else open.delete(j.scheduleId);
  }
  return raised;
}

/** What the ledger holds of an undecided occurrence, with its schedule's deadlines. */
export interface UndecidedFacts extends OccurrenceFacts {
  taskId: string;
  scheduleId: number;
  scheduleName: string;
  startDeadlineMs: number | null;
  finishDeadlineMs: number | null;
}

/**
 * One pass of the deadline watch, decided: each occurrence judged at `now`, the outcomes now final,
 * the alerts to raise (`open` updated in place), and the oldest slot still undecided.
 */
export function judgePass(
  rows: readonly UndecidedFacts[],
  open: Map<number, Set<BreachKind>>,
  now: number,
): {
  decided: Array<{ taskId: string; outcome: DeadlineOutcome; reason: string }>;
  alerts: AlertToRaise[];
  oldestOpen: number | null;
} {
  const judged: JudgedOccurrence[] = [];
  const decided: Array<{ taskId: string; outcome: DeadlineOutcome; reason: string }> = [];
  let oldestOpen: number | null = null;
  for (const row of rows) {
    const judgement = judge({ startMs: row.startDeadlineMs, finishMs: row.finishDeadlineMs }, row, now);
    const { scheduleId, scheduleName, scheduledFor } = row;
    judged.push({ scheduleId, scheduleName, scheduledFor, judgement });
    if (judgement.outcome)
      decided.push({ taskId: row.taskId, outcome: judgement.outcome.kind, reason: judgement.outcome.reason });
    else if (oldestOpen === null || scheduledFor < oldestOpen) oldestOpen = scheduledFor;
  }
  return { decided, alerts: alertsToRaise(open, judged), oldestOpen };
}

/** Delay before delivery attempt `attempt + 1` after `attempt` failed: doubling from 1 s, capped. */
export function retryDelayMs(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 1_000 * 2 ** Math.max(0, Math.min(30, attempt - 1)));
}
