/** How `beat import` shows what it did: the plan, the notes, the file changes, the check table. */
import type { FieldChange } from '../declare/sync.ts';
import type { CheckReport } from '../import/check/check.ts';
import type { FileChanges } from '../import/declaration-file.ts';
import { formatImportProblem, type ImportProblem, type ReadyEntry } from '../import/entry.ts';
import type { ImportAction } from '../import/plan.ts';
import { CliError } from './errors.ts';
import { shortJson, table } from './format.ts';

export function problemsError(problems: ImportProblem[], what: string): CliError {
  const lines = problems.map((p) => `  ${formatImportProblem(p)}`);
  return new CliError(
    `${what}: ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was written:\n${lines.join('\n')}`,
    2,
  );
}

/** Every note of every entry, one line each ("never dropped silently"). */
export function formatNotes(entries: ReadyEntry[], warnings: string[] = []): string {
  const lines: string[] = [];
  for (const e of entries) {
    for (const n of e.notes) {
      const how = n.kind === 'unsupported' ? 'not carried over' : 'carried over differently';
      lines.push(`  ${e.name}: ${n.option} ${n.value}: ${how}: ${n.reason}`);
    }
  }
  const out: string[] = [];
  if (lines.length > 0) out.push('Options of the Celery entries:', ...lines);
  if (warnings.length > 0) out.push('Notes:', ...warnings.map((w) => `  ${w}`));
  return out.join('\n');
}

export function formatImportPlan(actions: ImportAction[], source: string): string {
  const lines: string[] = [];
  for (const a of actions) {
    switch (a.action) {
      case 'create': {
        const next = a.cursor.nextFireAt === null ? 'none' : new Date(a.cursor.nextFireAt).toISOString();
        const last =
          a.cursor.lastFireAt === null
            ? ''
            : `, after its last run ${new Date(a.cursor.lastFireAt).toISOString()}`;
        lines.push(`  create     ${a.name}  (first fire ${next}${last})`);
        break;
      }
      case 'update':
        lines.push(`  update     ${a.name}`);
        for (const c of a.changes as FieldChange[])
          lines.push(`               ${c.field}: ${shortJson(c.from)} -> ${shortJson(c.to)}`);
        break;
      case 'unchanged':
        lines.push(`  unchanged  ${a.name}`);
        break;
      case 'orphan':
        lines.push(
          `  orphan     ${a.name}  (no longer in ${source}; kept: beat remove ${JSON.stringify(a.name)} deletes it)`,
        );
        break;
    }
  }
  return lines.length > 0 ? lines.join('\n') : '  (nothing to import)';
}

export function summarizeActions(actions: ImportAction[]): Record<ImportAction['action'], number> {
  const counts = { create: 0, update: 0, unchanged: 0, orphan: 0 };
  for (const a of actions) counts[a.action]++;
  return counts;
}

export function formatFileChanges(file: string, changes: FileChanges, dryRun: boolean): string {
  const lines = [
    ...changes.added.map((n) => `  add        ${n}`),
    ...changes.changed.map((n) => `  change     ${n}`),
    ...changes.removed.map((n) => `  remove     ${n}  (no longer in the app)`),
    ...changes.unchanged.map((n) => `  unchanged  ${n}`),
  ];
  const counts = `${changes.added.length} added, ${changes.changed.length} changed, ${changes.removed.length} removed, ${changes.unchanged.length} unchanged`;
  const verdict = !changes.differs
    ? `${file} is up to date (${counts}).`
    : dryRun
      ? `Would write ${file}: ${counts}. Dry run: nothing written.`
      : `Wrote ${file}: ${counts}. Review it, then apply it with 'beat sync'.`;
  return [...lines, verdict].join('\n');
}

export function formatCheck(report: CheckReport, against: string): string {
  const out: string[] = [`${against} and Metronome, ${report.from} to ${report.to}:`];
  for (const s of report.schedules) {
    const state = s.error !== null ? 'error' : s.differences.length === 0 ? 'equal' : 'differs';
    const detail =
      s.error !== null
        ? `Celery's code failed: ${s.error}`
        : `${s.fires} fire${s.fires === 1 ? '' : 's'}${s.differences.length > 0 ? `, ${s.differences.length} difference${s.differences.length === 1 ? '' : 's'}` : ''}`;
    out.push(`  ${state.padEnd(9)}${s.name}  (${detail}${s.partial ? `; ${s.partial}` : ''})`);
  }
  const rows: string[][] = [];
  for (const s of report.schedules) {
    let previous = '';
    for (const d of s.differences) {
      // Every instant gets a row; a reason repeated from the row above is shown as a ditto mark.
      rows.push([
        s.name,
        d.celery ?? '-',
        d.metronome ?? '-',
        d.local,
        d.reason === previous ? '"' : d.reason,
      ]);
      previous = d.reason;
    }
  }
  if (rows.length > 0) {
    out.push(
      '',
      table(['schedule', 'Celery (UTC)', 'Metronome (UTC)', 'local (Celery / Metronome)', 'why'], rows),
    );
  }
  out.push(
    '',
    report.equal
      ? 'Equal: every fire in the window is at the same instant.'
      : 'They differ at the instants above (exit status 1).',
  );
  return out.join('\n');
}
