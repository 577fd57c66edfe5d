/**
 * What both importers produce: one `ImportedEntry` per Celery schedule — the Metronome declaration
 * it becomes (the very object `schedules/celery.ts` would pass to `defineSchedule`, and what the rows
 * are validated from), the notes on what could not be carried over, and the state celery beat leaves
 * behind (its last run), which decides the first Metronome fire (src/import/cursor.ts).
 */
import {
  type DeclarationProblem,
  parseDeclaration,
  type ScheduleDeclarationInput,
  type ScheduleFields,
} from '../model/index.ts';

/** Something of the Celery entry that Metronome does not carry over, or carries over differently. */
export interface ImportNote {
  /** The Celery option or field, e.g. `options.exchange`, `expires`, `relative`. */
  option: string;
  /** What the entry had, as text. */
  value: string;
  /** `unsupported`: left out; `mapped`: carried over as something else (said in `reason`). */
  kind: 'unsupported' | 'mapped';
  reason: string;
}

export interface ImportedEntry {
  name: string;
  /** Where it came from, for messages: `beat_schedule entry "x"`, `periodic task "x" (id 7)`. */
  origin: string;
  declaration: ScheduleDeclarationInput;
  notes: ImportNote[];
  /** celery beat's last send of it (epoch ms), when known. */
  lastRunAt: number | null;
  /** celery beat's run count (one-off and max-runs schedules stop by it). */
  totalRuns: number;
}

/** An entry that cannot be imported: the whole import stops and writes nothing. */
export interface ImportProblem {
  origin: string;
  reason: string;
}

export type Converted = { entry: ImportedEntry } | { problem: ImportProblem };

/** An imported entry with the stored fields its declaration validates to. */
export interface ReadyEntry extends ImportedEntry {
  fields: ScheduleFields;
}

/** Validate each entry's declaration exactly as `beat sync` would validate the generated file. */
function validateEntries(
  entries: ImportedEntry[],
  now: number,
): { ready: ReadyEntry[]; problems: ImportProblem[] } {
  const ready: ReadyEntry[] = [];
  const problems: ImportProblem[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.name)) {
      problems.push({
        origin: entry.origin,
        reason: 'the name is used by another entry; names must be unique',
      });
      continue;
    }
    seen.add(entry.name);
    const parsed = parseDeclaration(entry.declaration, now);
    if (parsed.ok) ready.push({ ...entry, fields: parsed.fields });
    else problems.push({ origin: entry.origin, reason: parsed.problems.map(describeProblem).join('; ') });
  }
  return { ready, problems };
}

function describeProblem(p: DeclarationProblem): string {
  return `${p.field}: ${p.reason}`;
}

export class ImportProblemsError extends Error {
  constructor(readonly problems: ImportProblem[]) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was written`);
  }
}

/** Convert and validate every item; any problem anywhere throws ImportProblemsError with all of them. */
export function convertAll<T>(items: T[], convert: (item: T) => Converted, now: number): ReadyEntry[] {
  const converted: ImportedEntry[] = [];
  const problems: ImportProblem[] = [];
  for (const item of items) {
    const result = convert(item);
    if ('problem' in result) problems.push(result.problem);
    else converted.push(result.entry);
  }
  const { ready, problems: invalid } = validateEntries(converted, now);
  if (problems.length + invalid.length > 0) throw new ImportProblemsError([...problems, ...invalid]);
  return ready;
}

export function formatImportProblem(p: ImportProblem): string {
  return `${p.origin}: ${p.reason}`;
}

/** A value shown in a note: JSON, shortened. */
export function noteValue(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
