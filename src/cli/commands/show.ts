/**
 * `beat show NAME`: everything about one schedule (a pause's end, a pending skip), its next 5 fires
 * (with DST marks, and the ones a skip takes), its last 10 runs.
 */
import type { Command } from 'commander';
import type { OccurrenceRow } from '../../db/schema.ts';
import { backfillJson } from '../../observe/backfill-view.ts';
import { formatDuration } from '../../time/index.ts';
import { isoOf, shown, table } from '../format.ts';
import { print, printJson } from '../output.ts';

export function registerShow(program: Command): void {
  program
    .command('show')
    .description('show one schedule: all fields, next 5 fires with DST marks, last 10 occurrences')
    .argument('<name>', 'schedule name')
    .option('--json', 'print JSON')
    .action(async (name: string, options: { json?: boolean }) => {
      const { databaseNow } = await import('../../db/store.ts');
      const { occurrencesOf } = await import('../../db/sql/occurrences-read.ts');
      const { describeSpec, stringifyJson } = await import('../../model/index.ts');
      const { occurrenceView } = await import('../../observe/history.ts');
      const { nextFires, recordJson, skippedFires, stateText, viewRecord } = await import(
        '../../observe/schedule-view.ts'
      );
      const { withDatabase } = await import('../database.ts');
      const { requireSchedule, when } = await import('../schedules.ts');
      const { runHoldingLock } = await import('../../db/sql/occurrences-read.ts');
      const { backfillsOf } = await import('../../db/sql/backfills.ts');
      await withDatabase(async (database) => {
        const record = await requireSchedule(database.db, name);
        const now = await databaseNow(database);
        const { calendarsOf } = await import('../../db/sql/calendars.ts');
        const view = viewRecord(record, now, await calendarsOf(database.db, [record]));
        const fires = nextFires(view, now, 5);
        const skipped = skippedFires(view, now, fires);
        const history = await occurrencesOf(database.db, name, { limit: 10 });
        const group = record.exclusionGroup;
        const holder = group === null ? undefined : await runHoldingLock(database, record.id, group);
        const backfills = await backfillsOf(database, name, 5);
        if (options.json) {
          printJson({
            ...recordJson(view),
            exclusionGroupHeldBy: holder
              ? { schedule: holder.schedule_name, taskId: holder.task_id, status: holder.status }
              : null,
            backfills: backfills.map(backfillJson),
            nextFires: fires.map((f) => ({
              at: new Date(f.at).toISOString(),
              dst: f.dst || null,
              calendar: f.calendar || null,
              skipped: f.skipped,
            })),
            skippedFires: skipped.map((s) => ({ at: new Date(s.at).toISOString(), calendar: s.text })),
            lastOccurrences: history.map(occurrenceView),
          });
          return;
        }
        const r = record;
        const ms = (v: number | null) => (v === null ? '-' : formatDuration(v));
        const lines: [string, string][] = [
          ['name', r.name],
          ['task', r.task],
          ['state', stateText(view)],
          ['schedule', `${r.kind}: ${describeSpec(r)}`],
          ['args', stringifyJson(r.args)],
          ['kwargs', stringifyJson(r.kwargs)],
          ['queue', r.queue ?? '- (routing decides)'],
          ['routing key', r.routingKey ?? '-'],
          ['priority', r.priority === null ? '-' : String(r.priority)],
          ['headers', stringifyJson(r.headers)],
          ['expires', ms(r.expiresMs)],
          ['time limit', r.timeLimitS === null ? '-' : `${r.timeLimitS}s`],
          ['soft time limit', r.softTimeLimitS === null ? '-' : `${r.softTimeLimitS}s`],
          ['enabled', String(r.enabled)],
          [
            'paused',
            r.pausedAt
              ? `since ${isoOf(r.pausedAt)}${r.pausedUntil ? `, resumes by itself at ${isoOf(r.pausedUntil)}` : ''}`
              : 'no',
          ],
          ['skip', r.skipCount > 0 ? `the next ${r.skipCount} (${r.skipReason ?? 'no reason given'})` : 'no'],
          ['window', `${isoOf(r.startAt) ?? '-'} .. ${isoOf(r.endAt) ?? '-'}`],
          ['runs', `${r.totalRuns}${r.maxRuns === null ? '' : ` of at most ${r.maxRuns}`}`],
          ['overlap', r.overlap],
          ['catch-up', `${r.catchup} within ${formatDuration(r.catchupWindowMs)}`],
          ['jitter', ms(r.jitterMs)],
          ['run lease', ms(r.runLeaseMs)],
          ['start deadline', ms(r.startDeadlineMs)],
          ['finish deadline', ms(r.finishDeadlineMs)],
          [
            'exclusion group',
            group === null
              ? '-'
              : `${group} (${holder ? `held by ${JSON.stringify(holder.schedule_name)}: run ${holder.task_id}, ${holder.status}` : 'free'})`,
          ],
          [
            'managed by',
            r.managedBy === 'code' ? `code (${r.source ?? '?'})` : `db${r.source ? ` (${r.source})` : ''}`,
          ],
          ['description', r.description ?? '-'],
          ['next fire', when(view.nextFireAt, view.zone)],
          ['last fire', when(r.lastFireAt?.getTime(), view.zone)],
          ['version', `${r.version} (updated ${isoOf(r.updatedAt)})`],
        ];
        if (view.invalidReason) lines.splice(3, 0, ['invalid', view.invalidReason]);
        const width = Math.max(...lines.map(([k]) => k.length));
        print(lines.map(([k, v]) => `${k.padEnd(width)}  ${shown(v)}`).join('\n'));
        print(`\nNext ${fires.length === 0 ? 'fires: none' : `${fires.length} fires (${view.zone.name}):`}`);
        if (fires.length > 0) {
          print(
            table(
              ['#', 'UTC', 'LOCAL', 'DST / CALENDAR', 'NOTE'],
              fires.map((f, i) => [
                String(i + 1),
                new Date(f.at).toISOString(),
                when(f.at, view.zone),
                [f.dst, f.calendar].filter(Boolean).join('; '),
                f.skipped ? `skipped (${r.skipReason ?? 'no reason given'})` : '',
              ]),
            ),
          );
          for (const s of skipped) print(`  not fired: ${s.text}`);
        }
        if (history.length === 0) print('\nNo occurrences yet.');
        else print(`\nLast ${history.length} occurrences:\n${occurrenceTable(history)}`);
        if (backfills.length > 0) print(`\nBackfills:\n${backfillTable(backfills)}`);
      });
    });
}

type Backfill = import('../../db/sql/backfills.ts').Backfill;

function backfillTable(backfills: Backfill[]): string {
  return table(
    ['#', 'FROM', 'TO', 'SLOTS', 'CLAIMED', 'ALREADY', 'STATUS', 'BY'],
    backfills.map((b) => [
      String(b.id),
      new Date(b.from).toISOString(),
      new Date(b.to).toISOString(),
      String(b.slots),
      String(b.claimed),
      String(b.already),
      b.status + (b.error ? ` (${b.error})` : ''),
      b.requestedBy,
    ]),
  );
}

export function occurrenceTable(history: OccurrenceRow[]): string {
  // A schedule with deadlines gets a column saying how each run kept them (docs/alerts.md).
  const judged = history.some((o) => o.deadlineOutcome !== null);
  return table(
    ['SCHEDULED FOR', 'STATUS', 'TASK ID', 'ENQUEUED', 'FINISHED', ...(judged ? ['DEADLINES'] : []), 'ERROR'],
    history.map((o) => [
      isoOf(o.scheduledFor) ?? '-',
      o.status +
        (o.manual ? ' (manual)' : '') +
        (o.backfillId === null ? '' : ` (backfill #${o.backfillId})`),
      o.taskId,
      isoOf(o.enqueuedAt) ?? '-',
      isoOf(o.finishedAt) ?? '-',
      ...(judged ? [o.deadlineOutcome ?? '-'] : []),
      o.error ?? (o.deadlineOutcome && o.deadlineOutcome !== 'on_time' ? (o.deadlineReason ?? '') : ''),
    ]),
  );
}
