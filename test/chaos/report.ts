/**
 * The verdict of a chaos run: one table row per invariant (pass or fail, the count, what it was
 * compared with), then, for each failure, the occurrences named with the faults that preceded them
 * and the beats' log lines that concern them.
 */

import type { BackfillReport } from './backfills.ts';
import type { ClusterEvent } from './cluster.ts';
import type { BeatLog } from './evidence.ts';
import type { Leadership } from './leadership.ts';
import { FAULT_KINDS } from './plan.ts';
import type { Execution } from './records.ts';
import type { Duplicates, GroupOverlapReport, OverlapReport, Stranded } from './runs.ts';
import type { SkipReport } from './skips.ts';
import type { SlotReport } from './slots.ts';

export interface Row {
  id: string;
  what: string;
  ok: boolean | null;
  value: string;
  note: string;
}

export interface Verdict {
  rows: Row[];
  failed: boolean;
  details: string[];
}

export interface VerdictInput {
  ttlMs: number;
  duplicates: Duplicates;
  slots: SlotReport;
  overlaps: OverlapReport;
  groupOverlaps: GroupOverlapReport;
  skips: SkipReport;
  backfills: BackfillReport;
  leadership: Leadership;
  longestClaimGap: { from: number; to: number } | undefined;
  stranded: Stranded[];
  faultsInjected: Map<string, number>;
  faultsRequired: number;
  editsApplied: Map<string, number>;
  queueWait: { p50: number; p90: number };
  executions: number;
  ledgerRows: number;
  events: ClusterEvent[];
  logs: BeatLog[];
  /** How many examples of each failure to print (all go to the report file). */
  examples: number;
}

const FAULT_EVENT = new Set([
  'beat-crash',
  'beat-kill',
  'beat-stop',
  'beat-cont',
  'beat-term',
  'beat-start',
  'worker-kill',
  'redis-down',
  'redis-up',
  'broker-cut',
  'broker-up',
  'pg-terminate',
]);
const LEADER_MSGS = new Set([
  'leading',
  'stepped down',
  'fenced: another beat leads',
  'not enqueueing: leadership lost; the next leader re-sends them',
  'tick failed; retrying',
  're-sending occurrences claimed but never enqueued (same task ids)',
  'could not start leading; stepping down',
]);

const iso = (t: number) => new Date(t).toISOString();
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function verdict(input: VerdictInput): Verdict {
  const {
    duplicates: d,
    slots,
    overlaps,
    groupOverlaps: g,
    skips: k,
    backfills: b,
    leadership,
    stranded,
  } = input;
  const bound = input.ttlMs + 1_000;
  const gap = leadership.longestGap;
  const gapMs = gap ? gap.to - gap.from : 0;
  // An exit the harness did not ask for (no SIGKILL or SIGTERM of that process before it).
  const told = new Set(
    input.events.filter((e) => e.kind === 'beat-kill' || e.kind === 'beat-term').map((e) => e.pid),
  );
  const crashes = input.events.filter((e) => e.kind === 'beat-exit' && !told.has(e.pid));
  const missingKinds = FAULT_KINDS.filter((k) => (input.faultsInjected.get(k) ?? 0) < input.faultsRequired);
  const rows: Row[] = [
    row(
      '1a',
      'task ids executed twice by the workers',
      d.executedTwice.length,
      `${input.executions} executions`,
    ),
    row('1b', 'occurrences enqueued twice (beat logs)', d.enqueuedTwice.length, ''),
    row(
      '1c',
      'at-least-once, documented cases (must be 0 too)',
      d.atLeastOnce.length,
      'a lost reply, or a re-send after the sender was killed; counted apart',
    ),
    row(
      '2a',
      'owed slots with no ledger row (gaps)',
      slots.gaps.length,
      `${slots.owed} slots owed, ${slots.excused} not owed (a change won before any leader could act)${tally(slots.gaps.map((g) => (g.until ? `before a ${g.until.kind}` : `after a ${g.since.style ?? ''} ${g.since.kind}`)))}`,
    ),
    row('2b', 'missed/skipped rows without a reason', slots.withoutReason.length, ''),
    row('2c', 'rows off their schedule grid', slots.offGrid.length, `${input.ledgerRows} ledger rows`),
    row(
      '2d',
      'operator skips (beat skip) not kept exactly',
      k.executed.length + k.tooMany.length + k.badReason.length,
      `${k.skipsSet} skips set, ${k.skippedRows} rows skipped; ${k.executed.length} skipped slots executed, ${k.tooMany.length} schedules skipped more than their skips consumed, ${k.badReason.length} rows without their reason; ${k.fewer.length} took a count without a row (info)`,
    ),
    {
      id: "2'",
      what: 'schedules still behind the cut (late, not lost; info)',
      ok: null,
      value: String(slots.late.length),
      note: slots.late
        .slice(0, 6)
        .map((l) => `${l.schedule} ${secs(l.behindMs)} behind`)
        .join(', '),
    },
    row(
      '3',
      'overlapping runs of skip/buffer_one schedules',
      overlaps.overlaps.length,
      `${overlaps.checkedRuns} runs of ${overlaps.checkedSchedules} schedules; ${overlaps.lapsed.length} more after a run lease ran out in the queue (by design)${tally(overlaps.overlaps.map((o) => o.schedule))}`,
    ),
    row(
      '3g',
      'overlapping runs of one exclusion group (across schedules)',
      g.overlaps.length,
      `${g.checkedRuns} runs of ${g.groups} groups; ${g.lapsed.length} more after a run lease ran out in the queue (by design)${tally(g.overlaps.map((o) => `${o.earlier.schedule}/${o.later.schedule}`))}`,
    ),
    {
      id: '4',
      what: 'longest interval with no leader',
      ok: gapMs <= bound,
      value: secs(gapMs),
      note: `bound TTL + 1 s = ${secs(bound)}${gap ? `; ${iso(gap.from)} after ${gap.after}` : ''}`,
    },
    {
      id: "4'",
      what: 'longest interval with no new claim (info)',
      ok: null,
      value: input.longestClaimGap ? secs(input.longestClaimGap.to - input.longestClaimGap.from) : '-',
      note: input.longestClaimGap ? `from ${iso(input.longestClaimGap.from)}` : '',
    },
    row(
      '5',
      'occurrences stranded (claimed > 1 min, enqueued forever)',
      stranded.length,
      tally(stranded.map((x) => x.kind)).slice(2),
    ),
    row(
      '6',
      'backfills not carried through (ended, each slot of the range once)',
      b.problems.length + b.strays.length,
      `${b.requests} requests, ${b.slots} slots in their ranges, ${b.backfilledRows} rows backfilled; ${b.retimed} re-timed while open (slots not compared)${tally(b.problems.map((p) => p.problem.split(' ').slice(0, 2).join(' ')))}`,
    ),
    {
      id: 'crash',
      what: 'beat processes that exited on their own',
      ok: crashes.length === 0,
      value: String(crashes.length),
      note: crashes
        .slice(0, 3)
        .map((e) => `${iso(e.t)} ${e.detail}`)
        .join('; '),
    },
    {
      id: 'load',
      what: 'queue wait of runs (enqueued -> started): p50, p90',
      ok: input.queueWait.p50 <= 1_000 && input.queueWait.p90 <= 3_000,
      value: `${secs(input.queueWait.p50)}, ${secs(input.queueWait.p90)}`,
      note: 'bound 1 s, 3 s: above it the workers were saturated and the run proves nothing (runs outlive their leases in the queue)',
    },
    {
      id: 'cov',
      what: `every fault kind injected >= ${input.faultsRequired} times`,
      ok: missingKinds.length === 0,
      value: FAULT_KINDS.map((k) => `${k} ${input.faultsInjected.get(k) ?? 0}`).join(', '),
      note: `edits: ${[...input.editsApplied].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    },
  ];
  const details = explain(input);
  return { rows, failed: rows.some((r) => r.ok === false), details };
}

/** `; a 12, b 3` — the commonest values first (at most six). */
function tally(values: string[]): string {
  if (values.length === 0) return '';
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const top = [...counts].sort((a, b) => b[1] - a[1]);
  return `; ${top
    .slice(0, 6)
    .map(([v, n]) => `${v} ${n}`)
    .join(', ')}${top.length > 6 ? ', ...' : ''}`;
}

function row(id: string, what: string, count: number, note: string): Row {
  return { id, what, ok: count === 0, value: String(count), note };
}

export function formatTable(rows: Row[]): string {
  const header = ['#', 'invariant', 'result', 'value', 'detail'];
  const cells = rows.map((r) => [
    r.id,
    r.what,
    r.ok === null ? 'info' : r.ok ? 'ok' : 'FAIL',
    r.value,
    r.note,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  widths[4] = 0;
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 4 ? v : v.padEnd(widths[i] as number)))
      .join(' | ')
      .trimEnd();
  return [
    line(header),
    widths.map((w, i) => '-'.repeat(i === 4 ? 6 : w)).join('-|-'),
    ...cells.map(line),
  ].join('\n');
}

// --- explanations ----------------------------------------------------------------------------------

function explain(input: VerdictInput): string[] {
  const out: string[] = [];
  const n = input.examples;
  const { duplicates: d, slots, overlaps, stranded } = input;
  const ctx = (t: number, taskIds: string[], schedule?: string) => context(input, t, taskIds, schedule);
  for (const x of d.executedTwice.slice(0, n))
    out.push(
      `1a ${x.taskId} (${x.runs[0]?.schedule}) executed ${x.runs.length} times: ${x.runs.map(runText).join('; ')}\n${ctx(x.runs[0]?.start ?? 0, [x.taskId])}`,
    );
  for (const x of d.enqueuedTwice.slice(0, n))
    out.push(`1b ${x.taskId} enqueued ${x.lines.length} times\n${ctx(x.lines[0]?.t ?? 0, [x.taskId])}`);
  for (const x of d.atLeastOnce.slice(0, n))
    out.push(
      `1c ${x.taskId} executed ${x.runs.length} times after a failed attempt: ${x.attempts.map((a) => a.error).join('; ')}\n${ctx(x.runs[0]?.start ?? 0, [x.taskId])}`,
    );
  for (const g of slots.gaps.slice(0, n))
    out.push(
      `2a ${g.schedule} slot ${iso(g.slot)} has no row (version since ${g.since.kind}/${g.since.style ?? '-'} at ${iso(g.since.at)}${g.until ? `, until ${g.until.kind} at ${iso(g.until.at)}` : ''})\n${ctx(g.slot, [], g.schedule)}`,
    );
  for (const r of slots.withoutReason.slice(0, n))
    out.push(`2b ${r.schedule} ${iso(r.scheduledFor)} ${r.status} without a reason (${r.taskId})`);
  for (const r of slots.offGrid.slice(0, n))
    out.push(
      `2c ${r.schedule} row at ${iso(r.scheduledFor)} (${r.status}, ${r.taskId}) is no slot of any version`,
    );
  for (const o of overlaps.overlaps.slice(0, n))
    out.push(
      `3 ${o.schedule}: ${o.later.taskId} started ${secs(o.ms)} before ${o.earlier.taskId} ended (${runText(o.earlier)} / ${runText(o.later)})\n${ctx(o.later.start, [o.earlier.taskId, o.later.taskId])}`,
    );
  for (const x of input.skips.executed.slice(0, n))
    out.push(
      `2d ${x.row.schedule} ${iso(x.row.scheduledFor)} ${x.row.taskId} recorded skipped (${x.row.error}) but executed: ${x.runs.map(runText).join('; ')}\n${ctx(x.runs[0]?.start ?? x.row.scheduledFor, [x.row.taskId], x.row.schedule)}`,
    );
  for (const x of input.skips.tooMany.slice(0, n))
    out.push(
      `2d ${x.schedule}: ${x.skipped} slots skipped, its skips consumed ${x.exact ? '' : 'at most '}${x.consumed}`,
    );
  for (const r of input.skips.badReason.slice(0, n))
    out.push(
      `2d ${r.schedule} ${iso(r.scheduledFor)} ${r.taskId} skipped with "${r.error}", no skip set with that reason`,
    );
  for (const o of input.groupOverlaps.overlaps.slice(0, n))
    out.push(
      `3g group ${o.schedule}: ${o.later.taskId} (${o.later.schedule}) started ${secs(o.ms)} before ${o.earlier.taskId} (${o.earlier.schedule}) ended (${runText(o.earlier)} / ${runText(o.later)})\n${ctx(o.later.start, [o.earlier.taskId, o.later.taskId])}`,
    );
  for (const p of input.backfills.problems.slice(0, n))
    out.push(
      `6 backfill #${p.request.id} of ${p.request.schedule} (${iso(p.request.from)}..${iso(p.request.to)}, ${p.request.slots.length} slots, requested ${iso(p.request.at)}): ${p.problem}\n${ctx(p.request.at, [], p.request.schedule)}`,
    );
  for (const r of input.backfills.strays.slice(0, n))
    out.push(
      `6 ${r.schedule} ${iso(r.scheduledFor)} ${r.taskId} carries backfill #${r.backfillId}, which the harness never requested`,
    );
  for (const s of stranded.slice(0, n))
    out.push(
      `5 ${s.row.schedule} ${iso(s.row.scheduledFor)} ${s.row.taskId}: ${s.problem}\n${ctx(s.row.enqueuedAt ?? s.row.claimedAt, [s.row.taskId])}`,
    );
  return out;
}

function runText(r: Execution): string {
  return `${iso(r.start)}..${r.end === null ? '(no end)' : iso(r.end)} pid ${r.pid}${r.how && r.how !== 'ok' ? ` ${r.how}` : ''}`;
}

/** The faults just before `t`, and the log lines that concern these task ids or this schedule then. */
function context(input: VerdictInput, t: number, taskIds: string[], schedule?: string): string {
  const faults = input.events
    .filter((e) => FAULT_EVENT.has(e.kind) && e.t >= t - 30_000 && e.t <= t + 2_000)
    .map((e) => `    fault ${iso(e.t)} ${e.detail}`);
  const ids = new Set(taskIds);
  const lines = input.logs
    .filter(
      (l) =>
        (l.taskId && ids.has(l.taskId)) ||
        (schedule && l.schedule === schedule && Math.abs(l.t - t) < 5_000) ||
        (LEADER_MSGS.has(l.msg) && l.t >= t - 10_000 && l.t <= t + 5_000),
    )
    .slice(0, 25)
    .map((l) => `    log ${l.beat} ${l.line}`);
  return [...faults, ...lines].join('\n');
}
