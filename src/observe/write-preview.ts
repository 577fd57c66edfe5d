/**
 * A write's preview: the decision the write would take now (src/operate/edit-plan.ts: refused
 * exactly as the write would be, and nothing written) and what previewEdit says it does to the
 * schedule's fires. The API's `?preview=true` and `beat edit --preview` answer with it.
 */
import type { Database } from '../db/database.ts';
import { calendarsOf } from '../db/sql/calendars.ts';
import { outcomeOf } from '../operate/edit.ts';
import { type Decide, planEdit } from '../operate/edit-plan.ts';
import { previewBeforeOf, previewEdit, type SchedulePreview } from './preview.ts';

export interface WritePreview {
  /** What the write would do: `unchanged` writes nothing and records nothing. */
  action: 'created' | 'updated' | 'unchanged' | 'deleted';
  /** The fields an update would change, as declarations name them. */
  changed: string[];
  /** The version previewed (null: it does not exist yet): give it back to apply exactly this. */
  version: number | null;
  preview: SchedulePreview;
}

export async function previewWrite(database: Database, decide: Decide): Promise<WritePreview> {
  const plan = await planEdit(database, decide);
  const calendars = await calendarsOf(database.db, [
    ...(plan.record ? [plan.record] : []),
    ...(plan.checked ? [plan.checked.fields] : []),
  ]);
  return {
    ...outcomeOf(plan),
    version: plan.record?.version ?? null,
    preview: previewEdit({
      name: plan.name,
      before: plan.record ? previewBeforeOf(plan.record) : null,
      after: plan.checked?.fields ?? null,
      now: plan.now,
      calendars,
    }),
  };
}
