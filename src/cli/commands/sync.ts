/**
 * `beat sync [--prune] [--dry-run] [--dir schedules]`: make the database match `schedules/*.ts`.
 * All problems are reported at once and nothing is written (exit 2); see src/declare/sync.ts.
 */
import type { Command } from 'commander';
import type { Database } from '../../db/database.ts';
import { formatProblem, loadDeclarations, type SyncProblem } from '../../declare/load.ts';
import type { PlanEntry, ValidDeclaration } from '../../declare/sync.ts';
import type { CalendarPlanEntry, ValidCalendar } from '../../declare/sync-calendars.ts';
import type { SchedulePreview } from '../../observe/preview.ts';
import { cliActor } from '../../operate/actor.ts';
import { CliError } from '../errors.ts';
import { shortJson, shown } from '../format.ts';
import { print, printJson } from '../output.ts';
import { formatPreview } from '../preview-output.ts';

interface SyncOptions {
  prune?: boolean;
  dryRun?: boolean;
  dir: string;
  json?: boolean;
}

export function registerSync(program: Command): void {
  program
    .command('sync')
    .description('create and update the schedules declared in schedules/*.ts (code-owned rows)')
    .option('--prune', 'delete code-owned schedules whose declaration is gone (their history stays)')
    .option('--dry-run', 'print the plan (create / update / unchanged / prune) and write nothing')
    .option('--dir <folder>', 'the folder of declaration files', 'schedules')
    .option('--json', 'print the plan as JSON')
    .action(async (options: SyncOptions) => {
      const { SyncProblemsError, planSync, syncDeclarations, validateDeclarations } = await import(
        '../../declare/sync.ts'
      );
      const { configValue, withDatabase } = await import('../database.ts');
      const { declarationTimeoutMs } = await import('../../config.ts');
      const {
        found,
        calendars: foundCalendars,
        problems: loadProblems,
      } = await loadDeclarations(options.dir, undefined, {
        timeoutMs: configValue(declarationTimeoutMs),
      });
      const {
        valid,
        calendars,
        problems: declarationProblems,
      } = validateDeclarations(found, Date.now(), foundCalendars);
      const problems = [...loadProblems, ...declarationProblems];
      if (problems.length > 0) fail(problems, options);
      if (options.prune && found.length === 0 && foundCalendars.length === 0) {
        throw new CliError(
          `no declarations found in ${options.dir}/: refusing to --prune every code-owned schedule. Check --dir, or remove schedules one by one with 'beat remove NAME --force'`,
        );
      }
      const opts = {
        prune: options.prune ?? false,
        dryRun: options.dryRun ?? false,
        actor: cliActor(),
        calendars,
      };
      const planned = async (
        run: () => Promise<{ dryRun: boolean; plan: PlanEntry[]; calendars: CalendarPlanEntry[] }>,
      ) => {
        try {
          return await run();
        } catch (error) {
          if (error instanceof SyncProblemsError) fail(error.problems, options);
          throw error;
        }
      };
      if (opts.dryRun) {
        // A dry run writes nothing: no migration, no embedded database folder.
        const { inspectDatabase } = await import('../database.ts');
        await inspectDatabase(async ({ database, target, pending, total }) => {
          const result = await planned(async () => {
            if (database && pending < total) return syncDeclarations(database, valid, opts);
            // Not migrated at all: there are no schedules yet, so everything is created.
            const { plan, problems } = planSync([], valid, opts.prune, Date.now());
            if (problems.length > 0) throw new SyncProblemsError(problems);
            const created = calendars.map((c) => ({ action: 'create' as const, name: c.name, file: c.file }));
            return { dryRun: true, plan, calendars: created };
          });
          // Unmigrated: nothing stored to compare with, so every preview starts from nothing.
          const previews = await previewPlan(
            pending < total ? (database ?? undefined) : undefined,
            result.plan,
            valid,
            calendars,
            result.calendars,
          );
          report(result, target, options, pending, previews);
        });
        return;
      }
      await withDatabase(async (database) => {
        report(await planned(() => syncDeclarations(database, valid, opts)), database.target, options, 0);
      });
    });
}

/** `previews`: a dry run shows, for each schedule it would touch, its fires before and after. */
function report(
  result: { dryRun: boolean; plan: PlanEntry[]; calendars: CalendarPlanEntry[] },
  target: string,
  options: SyncOptions,
  migrationsPending: number,
  previews?: Map<string, SchedulePreview>,
): void {
  const s = summarize(result.plan);
  if (options.json) {
    printJson({
      target,
      dryRun: result.dryRun,
      ...(result.dryRun ? { migrationsPending } : {}),
      plan: result.plan,
      calendars: result.calendars,
      summary: s,
      ...(previews ? { previews: [...previews.values()] } : {}),
    });
    return;
  }
  if (result.calendars.length > 0) print(formatCalendarPlan(result.calendars));
  print(formatPlan(result.plan, previews));
  const counts = `${s.create} to create, ${s.update} to update, ${s.unchanged} unchanged, ${s.prune} to prune`;
  const orphans = s.orphan > 0 ? `; ${s.orphan} no longer declared (kept; --prune deletes them)` : '';
  const unmigrated =
    migrationsPending > 0
      ? ` The database is not migrated (${migrationsPending} migration${migrationsPending === 1 ? '' : 's'} to apply): 'beat sync' or 'beat migrate' applies them first.`
      : '';
  print(
    result.dryRun
      ? `Plan for ${target}: ${counts}${orphans}. Dry run: nothing written.${unmigrated}`
      : `Synced ${target}: ${counts.replaceAll('to ', '').replace('create', 'created').replace('update', 'updated').replace('prune', 'pruned')}${orphans}.`,
  );
}

function fail(problems: SyncProblem[], options: SyncOptions): never {
  if (options.json) {
    printJson({ problems });
    throw new CliError(`${problems.length} problem(s); nothing written`, 2);
  }
  const lines = problems.map((p) => `  ${formatProblem(p)}`);
  throw new CliError(
    `sync found ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was written:\n${lines.join('\n')}`,
    2,
  );
}

function summarize(plan: PlanEntry[]) {
  const counts = { create: 0, update: 0, unchanged: 0, prune: 0, orphan: 0 };
  for (const entry of plan) counts[entry.action]++;
  return counts;
}

/** The preview of every schedule the plan creates, updates or prunes, by name. */
async function previewPlan(
  database: Database | undefined,
  plan: PlanEntry[],
  valid: ValidDeclaration[],
  calendars: ValidCalendar[],
  calendarPlan: CalendarPlanEntry[],
): Promise<Map<string, SchedulePreview>> {
  const { databaseNow } = await import('../../db/store.ts');
  const { findSchedule } = await import('../../db/sql/schedules-read.ts');
  const { calendarsOf, readCalendars } = await import('../../db/sql/calendars.ts');
  const { syncLookup } = await import('../../declare/sync-calendars.ts');
  const { previewBeforeOf, previewEdit } = await import('../../observe/preview.ts');
  const now = database ? await databaseNow(database) : Date.now();
  const stored = database ? await readCalendars(database.db) : new Map();
  // Before: the calendars as stored; after: as this sync leaves them (declared ones as declared).
  const pruned = new Set(calendarPlan.filter((c) => c.action === 'prune').map((c) => c.name));
  const after = syncLookup(calendars, stored, pruned);
  const changedCalendars = new Set(
    calendarPlan.filter((c) => c.action !== 'unchanged' && c.action !== 'orphan').map((c) => c.name),
  );
  const declared = new Map(valid.map((d) => [d.name, d]));
  const previews = new Map<string, SchedulePreview>();
  for (const entry of plan) {
    const fields = declared.get(entry.name)?.fields;
    // An unchanged schedule is touched all the same when a calendar it names changes.
    const calendarChanged = (fields?.calendars ?? []).some((c) => changedCalendars.has(c));
    const touched =
      entry.action === 'create' || entry.action === 'update' || entry.action === 'prune' || calendarChanged;
    if (!touched) continue;
    const row = entry.action === 'create' || !database ? null : await findSchedule(database.db, entry.name);
    const before = database && row ? await calendarsOf(database.db, [row]) : () => undefined;
    previews.set(
      entry.name,
      previewEdit({
        name: entry.name,
        before: row ? previewBeforeOf(row) : null,
        after: entry.action === 'prune' ? null : (fields ?? null),
        now,
        calendars: before,
        calendarsAfter: after,
        calendarChanged,
      }),
    );
  }
  return previews;
}

function formatCalendarPlan(plan: CalendarPlanEntry[]): string {
  const lines = plan.map((e) => {
    const where = e.file ?? 'schedules/';
    switch (e.action) {
      case 'update':
        return `  update     calendar ${e.name}  (${where}): ${e.changed.join(', ')}`;
      case 'orphan':
        return `  orphan     calendar ${e.name}  (no longer declared in ${where}; kept)`;
      default:
        return `  ${e.action.padEnd(10)} calendar ${e.name}  (${where})`;
    }
  });
  return lines.map(shown).join('\n');
}

function formatPlan(plan: PlanEntry[], previews?: Map<string, SchedulePreview>): string {
  const lines: string[] = [];
  for (const e of plan) {
    switch (e.action) {
      case 'create':
        lines.push(`  create     ${e.name}  (${e.file})`);
        break;
      case 'update':
        lines.push(`  update     ${e.name}  (${e.file})`);
        for (const c of e.changes)
          lines.push(`               ${c.field}: ${shortJson(c.from)} -> ${shortJson(c.to)}`);
        break;
      case 'unchanged':
        lines.push(`  unchanged  ${e.name}`);
        break;
      case 'prune':
        lines.push(`  prune      ${e.name}  (was ${e.file ?? 'declared'})`);
        break;
      case 'orphan':
        lines.push(`  orphan     ${e.name}  (no longer declared in ${e.file ?? 'schedules/'}; kept)`);
        break;
    }
    const preview = previews?.get(e.name);
    if (preview) lines.push(...formatPreview(preview, '               ').split('\n'));
  }
  return lines.length > 0 ? lines.map(shown).join('\n') : '  (no declarations and no code-owned schedules)';
}
