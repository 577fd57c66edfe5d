/**
 * The chaos test's plan, from its seed alone (pure): the schedules, the faults and the schedule
 * edits, each at a fixed offset from the start. A run executes the plan against real processes; the
 * plan is the reproducible part (the system's answers to it are not, and need not be).
 */
import type { Random } from './random.ts';

export type Overlap = 'skip' | 'buffer_one' | 'allow';
export type Catchup = 'latest' | 'all' | 'skip';

/** One schedule as the harness inserts it (a row of metronome.schedules, task `chaos.work`). */
export interface ChaosSchedule {
  name: string;
  kind: 'interval' | 'crontab';
  everyMs: number | null;
  /** Interval grid offset from the Unix epoch, ms (null: the epoch). */
  anchorMs: number | null;
  cron: string | null;
  timezone: string | null;
  overlap: Overlap;
  catchup: Catchup;
  /** How long the task sleeps (kwargs.sleep), seconds. */
  sleepS: number;
  timeLimitS: number | null;
  softTimeLimitS: number | null;
  expiresMs: number | null;
  jitterMs: number;
  /** What it is there to exercise; `special` ones are never edited, paused or deleted. */
  role: 'short' | 'cron' | 'special';
  /** The exclusion group it shares a run lock with (specials only; never edited). */
  exclusionGroup: string | null;
}

/**
 * The second fields of the 6-field crontabs: one crontab per form (every second, steps, offset
 * steps, an irregular list), each firing every 1 to 5 seconds.
 */
export const CRON_SECOND_FIELDS = [
  '*',
  '*/2',
  '1-59/2',
  '*/3',
  '1-59/3',
  '2-59/3',
  '*/4',
  '3-59/4',
  '*/5',
  '4-59/5',
  '0,2,3,5,7,8,10,12,13,15,17,18,20,22,23,25,27,28,30,32,33,35,37,38,40,42,43,45,47,48,50,52,53,55,57,58',
] as const;

const ZONES = ['UTC', 'Europe/Berlin', 'America/St_Johns', 'Asia/Kathmandu', 'Australia/Lord_Howe'];

function base(name: string, everyMs: number): ChaosSchedule {
  return {
    name,
    kind: 'interval',
    everyMs,
    anchorMs: null,
    cron: null,
    timezone: null,
    overlap: 'skip',
    catchup: 'latest',
    sleepS: 0,
    timeLimitS: null,
    softTimeLimitS: null,
    expiresMs: null,
    jitterMs: 0,
    role: 'special',
    exclusionGroup: null,
  };
}

/**
 * The exclusion groups of a chaos run (docs/schedules.md, "Exclusion groups"): each joins two
 * specials of different schedules whose runs are longer than their interval, under `skip` and
 * `buffer_one`, so the group's one run lock is contended all the time, across schedules.
 */
export const EXCLUSION_GROUPS = ['chaos-long', 'chaos-limit'] as const;

/**
 * Schedules that each press on one rule: runs longer than their interval under each overlap policy,
 * soft and hard time limits (a run the worker kills), and messages that expire; and two pairs that
 * share an exclusion group. Few of them, so the workers (3 × 3 processes) are never saturated: a run
 * that waits in the queue longer than its run lease may overlap by design, which would hide the
 * overlaps that matter.
 */
function specials(): ChaosSchedule[] {
  const [long, limit] = EXCLUSION_GROUPS;
  return [
    { ...base('long-skip-1s', 1000), sleepS: 1.6 },
    { ...base('long-skip-2s-limit', 2000), sleepS: 3, timeLimitS: 6 },
    { ...base('long-buffer-2s', 2000), overlap: 'buffer_one', sleepS: 2.5 },
    { ...base('long-allow-3s', 3000), overlap: 'allow', sleepS: 4 },
    { ...base('soft-limit-3s', 3000), sleepS: 2.5, softTimeLimitS: 1, timeLimitS: 2 },
    { ...base('hard-limit-4s', 4000), sleepS: 3, timeLimitS: 1 },
    { ...base('within-limit-2s', 2000), sleepS: 0.5, timeLimitS: 3, catchup: 'all' },
    { ...base('expiring-1s', 1000), overlap: 'allow', expiresMs: 1000 },
    { ...base('group-skip-3s', 3000), sleepS: 2, exclusionGroup: long },
    { ...base('group-buffer-4s', 4000), overlap: 'buffer_one', sleepS: 2.5, exclusionGroup: long },
    { ...base('group-limit-skip-2s', 2000), sleepS: 1.5, timeLimitS: 4, exclusionGroup: limit },
    {
      ...base('group-limit-buffer-5s', 5000),
      overlap: 'buffer_one',
      sleepS: 3,
      timeLimitS: 2,
      exclusionGroup: limit,
    },
  ];
}

/** A short task on a random 1–5 s grid with random policies. */
export function randomSchedule(rng: Random, name: string): ChaosSchedule {
  const everyMs = 1000 * pickWeighted(rng, [1, 2, 3, 4, 5], [5, 15, 20, 25, 35]);
  const timeLimitS = rng.chance(0.15) ? rng.int(2, 10) : null;
  return {
    ...base(name, everyMs),
    anchorMs: rng.chance(0.1) ? rng.int(1, 999) : null,
    overlap: pickWeighted<Overlap>(rng, ['skip', 'buffer_one', 'allow'], [50, 20, 30]),
    catchup: pickWeighted<Catchup>(rng, ['latest', 'all', 'skip'], [50, 25, 25]),
    sleepS: rng.chance(0.2) ? Math.round(rng.between(0.01, 0.2) * 1000) / 1000 : 0,
    timeLimitS,
    expiresMs: rng.chance(0.05) ? everyMs : null,
    jitterMs: rng.chance(0.1) ? rng.int(50, 400) : 0,
    role: 'short',
  };
}

function cronSchedule(rng: Random, name: string, second: string): ChaosSchedule {
  return {
    ...randomSchedule(rng, name),
    kind: 'crontab',
    everyMs: null,
    anchorMs: null,
    cron: `${second} * * * * *`,
    timezone: rng.pick(ZONES),
    role: 'cron',
  };
}

/**
 * The beats' memory horizon (METRONOME_HORIZON) in a chaos run: its least value, so schedules leave
 * the leader's book between their fires and come back with the pages it reads, while it holds claims
 * made ahead (at most half of it, CLAIM_AHEAD_MS).
 */
export const HORIZON_MS = 10_000;

/**
 * A short task on a grid longer than the horizon (HORIZON_MS + 1 to 15 s): between two fires the
 * schedule is out of the leader's book, read back by the horizon's pages before its next slot.
 */
function farSchedule(rng: Random, name: string): ChaosSchedule {
  return { ...randomSchedule(rng, name), everyMs: HORIZON_MS + 1000 * rng.int(1, 15) };
}

/** One in ten of the random schedules runs on a grid longer than the horizon. */
const FAR_EVERY = 10;

/**
 * `count` schedules: the specials, one crontab per second field, and random interval ones (one in
 * FAR_EVERY of them beyond the horizon).
 */
export function workload(rng: Random, count: number): ChaosSchedule[] {
  const out = specials();
  for (const [i, second] of CRON_SECOND_FIELDS.entries())
    out.push(cronSchedule(rng, `cron-${i + 1}`, second));
  for (let i = out.length; i < count; i++) {
    const name = `s${String(i).padStart(3, '0')}`;
    out.push(i % FAR_EVERY === 0 ? farSchedule(rng, name) : randomSchedule(rng, name));
  }
  return out.slice(0, Math.max(count, 0));
}

// --- Faults ---------------------------------------------------------------------------------------

export const FAULT_KINDS = [
  'kill-leader',
  'stop-leader',
  'term-restart',
  'restart-redis',
  'terminate-pg',
  'cut-broker',
  'kill-worker',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultStep {
  /** Offset from the start of the chaos phase, ms. */
  atMs: number;
  kind: FaultKind;
  /** How long the fault lasts before it is healed (restart, SIGCONT, proxy up), ms. */
  durationMs: number;
  /** restart-redis: which server (`lock-0`..`lock-2` or `broker`); term-restart: `leader` or `standby`. */
  target: string;
}

/** How many of each fault kind a run of this length gets: 5 in 20 minutes, at least 1. */
export function faultsPerKind(minutes: number): number {
  return Math.max(1, Math.floor(minutes / 4));
}

/**
 * Two lock servers restarted closer together than this could both have forgotten one lock: the
 * Redlock caveat docs/locks.md states (a lock survives one restart of three servers, not two). The
 * longest lock in this workload lives well under a minute.
 */
export const LOCK_RESTART_SPACING_MS = 75_000;

export function faultPlan(rng: Random, durationMs: number, ttlMs: number): FaultStep[] {
  const per = faultsPerKind(durationMs / 60_000);
  const kinds = rng.shuffle(FAULT_KINDS.flatMap((k) => Array.from({ length: per }, () => k)));
  const warmup = Math.min(10_000, durationMs / 10);
  const span = (durationMs - warmup - 5_000) / kinds.length;
  const steps: FaultStep[] = [];
  let lastLockRestart = Number.NEGATIVE_INFINITY;
  let nextLock = rng.int(0, 2);
  kinds.forEach((kind, i) => {
    const durationMs = faultDuration(rng, kind, ttlMs);
    const room = Math.max(0, span - durationMs - 1_000);
    let atMs = Math.round(warmup + i * span + rng.between(0, room));
    // A leader killed or frozen inside the lookahead before a whole second holds that second's
    // slots claimed and not yet sent: the next leader must send each once, at its instant.
    if (kind === 'kill-leader' || kind === 'stop-leader')
      atMs = Math.ceil(atMs / 1000) * 1000 - rng.int(100, CLAIM_AHEAD_MS - 200);
    let target = '';
    if (kind === 'restart-redis') {
      if (atMs - lastLockRestart >= LOCK_RESTART_SPACING_MS && rng.chance(0.6)) {
        target = `lock-${nextLock}`;
        nextLock = (nextLock + 1) % 3;
        lastLockRestart = atMs;
      } else target = 'broker';
    }
    if (kind === 'term-restart') target = rng.chance(0.7) ? 'leader' : 'standby';
    steps.push({ atMs, kind, durationMs, target });
  });
  return steps;
}

function faultDuration(rng: Random, kind: FaultKind, ttlMs: number): number {
  switch (kind) {
    case 'kill-leader':
      return rng.int(1_000, 4_000); // until the killed beat is started again
    case 'stop-leader':
      return ttlMs + rng.int(500, 2_500); // longer than the lease, then SIGCONT
    case 'term-restart':
      return rng.int(500, 3_000);
    case 'restart-redis':
      return rng.int(300, 3_000);
    case 'terminate-pg':
      return 0;
    case 'cut-broker':
      return 10_000;
    case 'kill-worker':
      return rng.int(1_000, 3_000);
  }
}

// --- Schedule edits ---------------------------------------------------------------------------------

/**
 * The beats' hold limit (METRONOME_MAX_RUN_HOLD): a run whose worker died reads STARTED for ever, and
 * its lock is held this long at most.
 */
export const MAX_RUN_HOLD_MS = 30_000;

/**
 * The beats' claim lookahead (METRONOME_CLAIM_AHEAD) in a chaos run: every leader holds this much of
 * every schedule claimed ahead, so each kill or stop of a leader leaves claims for the next one.
 */
export const CLAIM_AHEAD_MS = 2_000;

export const EDIT_KINDS = [
  'insert',
  'edit-timing',
  'edit-other',
  'pause',
  'delete',
  'trigger',
  'skip',
  'backfill',
] as const;
export type EditKind = (typeof EDIT_KINDS)[number];

export interface EditStep {
  atMs: number;
  kind: EditKind;
  /** Which live schedule (a fraction of the sorted list of candidates). */
  pick: number;
  /**
   * Timing edits and inserts: `cursor` sets next_fire_at in the same statement, as `beat add` and
   * `beat sync` do; `sql` leaves it to the runtime, as a person editing the row with SQL does.
   */
  style: 'cursor' | 'sql';
  /** insert: the new schedule; edit-timing: the new timing; edit-other: the new options. */
  schedule?: ChaosSchedule;
  /** edit-other: which option changes. */
  option?: 'sleep' | 'time-limit' | 'catchup' | 'overlap' | 'jitter';
  /** pause: resumed this long after. */
  resumeAfterMs?: number;
  /** skip (`beat skip NAME --count N --reason R`): how many of the next occurrences, and why. */
  skip?: { count: number; reason: string };
  /**
   * backfill (`beat backfill NAME --from --to --rate`): the range ends `backMs` before the edit and
   * holds the schedule's last `slots` slots up to there (before the chaos phase: runs never sent;
   * inside it: slots the ledger has, or `missed` ones the backfill takes back), sent at `rate`/s.
   */
  backfill?: { backMs: number; slots: number; rate: number };
}

const EDIT_WEIGHTS: Record<EditKind, number> = {
  insert: 12,
  'edit-timing': 20,
  'edit-other': 20,
  pause: 10,
  delete: 13,
  trigger: 25,
  skip: 10,
  backfill: 8,
};

/**
 * At least 5 of each kind, about one edit every 2 s; and one more backfill 0.3–1.5 s before each
 * kill or freeze of the leader in `faults`, long enough (4–8 slots at 2–3/s) to be under way when the
 * leader goes: the next leader must resume it where the cursor stopped, sending no slot twice. Half land a few ms after a whole second (a
 * slot: the race with the claim of a slot just due); the other half inside the claim lookahead
 * (CLAIM_AHEAD_MS): before a whole second, when the slots of that second are already claimed and
 * wait for their instant — the edit, pause or delete must take back what it takes away.
 */
export function editPlan(rng: Random, durationMs: number, faults: FaultStep[] = []): EditStep[] {
  const total = Math.max(30, Math.floor(durationMs / 2_000));
  const sum = Object.values(EDIT_WEIGHTS).reduce((a, b) => a + b, 0);
  const kinds = rng.shuffle(
    EDIT_KINDS.flatMap((k) =>
      Array.from({ length: Math.max(5, Math.round((total * EDIT_WEIGHTS[k]) / sum)) }, () => k),
    ),
  );
  const start = 3_000;
  const end = durationMs - 8_000;
  const step = (end - start) / kinds.length;
  const planned = kinds.map((kind, i) => {
    const second = Math.floor((start + i * step + rng.between(0, step * 0.8)) / 1000) * 1000;
    const atMs = rng.chance(0.5) ? second + rng.int(0, 60) : second - rng.int(50, CLAIM_AHEAD_MS - 200);
    const edit: EditStep = { atMs, kind, pick: rng.next(), style: rng.chance(0.5) ? 'cursor' : 'sql' };
    if (kind === 'insert' || kind === 'edit-timing' || kind === 'edit-other') {
      edit.schedule = rng.chance(0.2)
        ? cronSchedule(rng, `new-${i}`, rng.pick(CRON_SECOND_FIELDS))
        : randomSchedule(rng, `new-${i}`);
    }
    if (kind === 'edit-other')
      edit.option = rng.pick(['sleep', 'time-limit', 'catchup', 'overlap', 'jitter'] as const);
    if (kind === 'pause') edit.resumeAfterMs = Math.min(rng.int(2_000, 10_000), end - atMs);
    if (kind === 'skip') edit.skip = { count: rng.int(1, 3), reason: `chaos skip ${i}` };
    if (kind === 'backfill')
      edit.backfill = { backMs: backfillBack(rng, atMs), slots: rng.int(2, 6), rate: rng.int(2, 5) };
    return edit;
  });
  for (const fault of faults) {
    if (fault.kind !== 'kill-leader' && fault.kind !== 'stop-leader') continue;
    const atMs = Math.max(0, fault.atMs - rng.int(300, 1_500));
    planned.push({
      atMs,
      kind: 'backfill',
      pick: rng.next(),
      style: 'cursor',
      backfill: { backMs: backfillBack(rng, atMs), slots: rng.int(4, 8), rate: rng.int(2, 3) },
    });
  }
  return planned.sort((a, b) => a.atMs - b.atMs);
}

/**
 * How far before the edit a backfill's range ends: half the time before the chaos phase began (slots
 * no run was ever sent for), half inside it (slots the ledger has, or `missed` ones taken back).
 */
function backfillBack(rng: Random, atMs: number): number {
  return rng.chance(0.5) ? atMs + rng.int(3_000, 20_000) : rng.int(500, Math.max(1_000, atMs));
}

function pickWeighted<T>(rng: Random, items: readonly T[], weights: readonly number[]): T {
  const total = weights.reduce((a, b) => a + b, 0);
  let r = rng.next() * total;
  for (let i = 0; i < items.length; i++) {
    r -= weights[i] as number;
    if (r < 0) return items[i] as T;
  }
  return items[items.length - 1] as T;
}
