/**
 * From a run's evidence to its verdict: the evidence (ledger, schedule histories, the harness's
 * events) is saved as evidence.json in the run's folder beside the beats' logs and the workers'
 * records, so `npm run chaos -- --recheck DIR` can judge a finished run again (after a change to a
 * check, or to read it differently) without running it again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { checkBackfills } from './backfills.ts';
import type { ClusterEvent } from './cluster.ts';
import { type BackfillState, type LedgerRow, readBeatLogs } from './evidence.ts';
import type { FaultOutcome } from './faults.ts';
import { leadership } from './leadership.ts';
import { faultsPerKind } from './plan.ts';
import { type Execution, executions, readRecords } from './records.ts';
import { formatTable, verdict } from './report.ts';
import {
  checkDuplicates,
  checkGroupOverlaps,
  checkOverlaps,
  checkStranded,
  type RunContext,
} from './runs.ts';
import { checkSkips } from './skips.ts';
import { checkSlots } from './slots.ts';
import type { BackfillRequest, ScheduleHistory, Trigger } from './world.ts';

export interface Evidence {
  seed: number;
  minutes: number;
  ttlMs: number;
  /** Epoch ms: the chaos phase's start, the cut, and when the ledger was read. */
  start: number;
  cut: number;
  readAt: number;
  ledger: LedgerRow[];
  cursors: Array<[number, number | null]>;
  histories: ScheduleHistory[];
  triggers: Trigger[];
  failedEdits: Array<{ at: number; kind: string; error: string }>;
  events: ClusterEvent[];
  /** Task ids seen claimed or buffered for over a minute while the run went, with when. */
  sampled: Array<[string, number]>;
  /** Task ids still waiting in the broker's queue when the ledger was read (absent: not read). */
  queued?: string[];
  outcomes: FaultOutcome[];
  editCounts: Array<[string, number]>;
  /** The backfills the harness requested, and metronome.backfills when the ledger was read. */
  backfills?: BackfillRequest[];
  backfillStates?: BackfillState[];
  /** Each live schedule's skip count left when the ledger was read. */
  skipsLeft?: Array<[number, number]>;
  /** Names of the beats' log files in the run's folder. */
  logFiles: string[];
}

const EVIDENCE = 'evidence.json';
/** The ScheduleRecord fields that are Dates (JSON has none). */
const DATES = new Set([
  'anchorAt',
  'runAt',
  'startAt',
  'endAt',
  'pausedAt',
  'nextFireAt',
  'lastFireAt',
  'createdAt',
  'updatedAt',
]);

export function saveEvidence(dir: string, evidence: Evidence): void {
  writeFileSync(path.join(dir, EVIDENCE), JSON.stringify(evidence));
}

export function loadEvidence(dir: string): Evidence {
  return JSON.parse(readFileSync(path.join(dir, EVIDENCE), 'utf8'), (key, value) =>
    DATES.has(key) && typeof value === 'string' ? new Date(value) : value,
  ) as Evidence;
}

/** Judge a run: print the table and examples, write report.txt; 1 when an invariant broke. */
export function analyze(dir: string, e: Evidence, examples: number, say: (text: string) => void): number {
  const logs = readBeatLogs(e.logFiles.map((f) => path.join(dir, f)));
  const runs = executions(readRecords(path.join(dir, 'worker-records.jsonl')));
  const pidToBeat = new Map<number, string>();
  for (const ev of e.events)
    if (ev.kind === 'beat-start' && ev.pid !== undefined) pidToBeat.set(ev.pid, beatName(ev.detail, ev.slot));
  const lead = leadership(
    logs,
    e.events,
    (ev) => (ev.pid === undefined ? undefined : pidToBeat.get(ev.pid)),
    {
      from: e.start,
      to: e.cut,
    },
  );
  const ctx: RunContext = {
    histories: new Map(e.histories.map((h) => [h.name, h])),
    ledgerByTask: new Map(e.ledger.map((r) => [r.taskId, r])),
    workerKills: new Map(
      e.events
        .filter((ev) => ev.kind === 'worker-kill' && ev.pid !== undefined)
        .map((ev) => [ev.pid as number, ev.t]),
    ),
    readAt: e.readAt,
    queued: new Set(e.queued ?? []),
    backfillPaceMs: new Map((e.backfills ?? []).map((b) => [b.id, 1000 / b.ratePerSecond])),
  };
  const result = verdict({
    ttlMs: e.ttlMs,
    duplicates: checkDuplicates(runs, logs, stoppedAfter(e, pidToBeat)),
    slots: checkSlots(e.histories, e.ledger, lead.leaderTime, e.cut, new Map(e.cursors)),
    overlaps: checkOverlaps(runs, ctx),
    groupOverlaps: checkGroupOverlaps(runs, ctx),
    skips: checkSkips(e.histories, e.ledger, runs, new Map(e.skipsLeft ?? [])),
    backfills: checkBackfills(e.backfills ?? [], e.backfillStates ?? [], e.ledger, e.histories),
    leadership: lead,
    longestClaimGap: longestClaimGap(e.ledger, e.start, e.cut),
    stranded: checkStranded(e.ledger, runs, ctx, new Map(e.sampled)),
    faultsInjected: countBy(e.outcomes.filter((x) => x.injected).map((x) => x.step.kind)),
    faultsRequired: faultsPerKind(e.minutes),
    editsApplied: new Map(e.editCounts),
    queueWait: queueWait(runs, ctx.ledgerByTask),
    executions: runs.length,
    ledgerRows: e.ledger.length,
    events: e.events,
    logs,
    examples: Number.POSITIVE_INFINITY,
  });
  const text = [
    `chaos test: seed ${e.seed}, ${e.minutes} min, lease TTL ${e.ttlMs} ms`,
    `command: npm run chaos -- --minutes ${e.minutes} --seed ${e.seed} --ttl ${e.ttlMs}`,
    '',
    formatTable(result.rows),
  ].join('\n');
  writeFileSync(path.join(dir, 'report.txt'), `${text}\n\n${result.details.join('\n\n')}\n`);
  writeFileSync(path.join(dir, 'leaders.json'), JSON.stringify(lead.spans, null, 1));
  process.stdout.write(`\n${text}\n\n`);
  const shown = examplesPerInvariant(result.details, examples);
  if (shown.length > 0) process.stdout.write(`${shown.join('\n\n')}\n\n`);
  say(`full report: ${path.join(dir, 'report.txt')}`);
  say(result.failed ? 'FAILED: an invariant broke' : 'passed');
  return result.failed ? 1 : 0;
}

function longestClaimGap(
  ledger: LedgerRow[],
  from: number,
  to: number,
): { from: number; to: number } | undefined {
  const times = ledger
    .filter((r) => !r.manual && r.claimedAt >= from && r.claimedAt <= to)
    .map((r) => r.claimedAt)
    .sort((a, b) => a - b);
  let best: { from: number; to: number } | undefined;
  for (let i = 1; i < times.length; i++) {
    const a = times[i - 1] as number;
    const b = times[i] as number;
    if (!best || b - a > best.to - best.from) best = { from: a, to: b };
  }
  return best;
}

/** How long runs waited in the broker queue (first start minus the ledger's enqueued_at). */
function queueWait(runs: Execution[], byTask: Map<string, LedgerRow>): { p50: number; p90: number } {
  const waits = runs
    .flatMap((r) => {
      const enqueuedAt = byTask.get(r.taskId)?.enqueuedAt;
      return enqueuedAt ? [Math.max(0, r.start - enqueuedAt)] : [];
    })
    .sort((a, b) => a - b);
  const at = (q: number) => waits[Math.min(waits.length - 1, Math.floor(q * waits.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9) };
}

/** Whether the harness killed or froze a beat within the lease TTL after an instant. */
function stoppedAfter(e: Evidence, pidToBeat: Map<number, string>): (beat: string, t: number) => boolean {
  const stops = e.events.filter(
    (ev) => (ev.kind === 'beat-kill' || ev.kind === 'beat-stop') && ev.pid !== undefined,
  );
  return (beat, t) =>
    stops.some((ev) => pidToBeat.get(ev.pid as number) === beat && ev.t >= t && ev.t - t <= e.ttlMs);
}

function beatName(detail: string, slot: number | undefined): string {
  const incarnation = /incarnation (\d+)/.exec(detail)?.[1] ?? '1';
  return `beat-${slot}.${incarnation}`;
}

function countBy(items: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of items) out.set(i, (out.get(i) ?? 0) + 1);
  return out;
}

function examplesPerInvariant(details: string[], n: number): string[] {
  const seen = new Map<string, number>();
  return details.filter((d) => {
    const id = d.split(' ')[0] as string;
    seen.set(id, (seen.get(id) ?? 0) + 1);
    return (seen.get(id) as number) <= n;
  });
}
