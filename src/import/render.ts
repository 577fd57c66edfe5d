/**
 * The imported schedules as a declaration file (`schedules/celery.ts`): one exported
 * `defineSchedule` per entry, names kept, each preceded by what was not carried over and why. The
 * output depends only on the entries, so re-running the import over an unchanged app rewrites the
 * same file. Pure.
 */
import { ExactNumber, type ScheduleDeclarationInput } from '../model/index.ts';
import { formatDuration, type ScheduleSpec } from '../time/index.ts';
import type { ImportedEntry, ImportNote } from './entry.ts';
import { declarationNumber, pythonRepr, undeclarable } from './python-json.ts';

export interface RenderOptions {
  /** Where the entries came from, for the header: `the Celery app "proj.celery:app"`. */
  from: string;
  /** The command that regenerates the file. */
  command: string;
  warnings: string[];
  /** Entries imported as rows instead (numbers a declaration cannot hold): named in the header. */
  asRows?: ImportedEntry[];
}

/** Why an entry cannot be declared in a file: the numbers JavaScript would change; null when it can. */
export function whyNotDeclarable(entry: ImportedEntry): string | null {
  const numbers = undeclarable(entry.declaration);
  if (numbers.length === 0) return null;
  const listed = numbers.map((n) => `${n.path} ${pythonRepr(n.number)}`);
  return `a declaration cannot hold its numbers exactly (${listed.join(', ')}: JavaScript rounds an integer beyond 2^53 and sends a whole float as an int)`;
}

export function renderDeclarations(entries: ImportedEntry[], options: RenderOptions): string {
  const builders = new Set<string>(['defineSchedule']);
  const used = new Set<string>();
  const blocks = entries.map((entry) => {
    const schedule = renderSpec(entry.declaration.schedule);
    builders.add(schedule.builder);
    return [
      ...entry.notes.map(renderNote),
      `export const ${identifier(entry.name, used)} = defineSchedule(${renderDeclaration(entry.declaration, schedule.code)});`,
    ].join('\n');
  });
  const header = [
    '/**',
    ` * Imported from ${options.from} by \`${options.command}\`.`,
    ' * Review it, commit it, and apply it with `beat sync` (docs/migrating.md).',
    ...options.warnings.map((w) => ` * Note: ${w}`),
    ...(options.asRows ?? []).map(
      (e) => ` * ${e.name}: imported as a row, not declared here: ${whyNotDeclarable(e)}`,
    ),
    ' */',
    `import { ${[...builders].sort().join(', ')} } from 'metronome';`,
  ];
  return `${[header.join('\n'), ...blocks].join('\n\n')}\n`;
}

function renderNote(note: ImportNote): string {
  const what = `${note.option} ${note.value}`;
  return note.kind === 'unsupported'
    ? `// Not carried over: ${what}: ${note.reason}`
    : `// Carried over differently: ${what}: ${note.reason}`;
}

const ORDER: (keyof ScheduleDeclarationInput)[] = [
  'args',
  'kwargs',
  'queue',
  'routingKey',
  'priority',
  'headers',
  'expires',
  'timeLimit',
  'softTimeLimit',
  'enabled',
  'startAt',
  'endAt',
  'maxRuns',
  'overlap',
  'catchup',
  'catchupWindow',
  'description',
];

function renderDeclaration(d: ScheduleDeclarationInput, schedule: string): string {
  const lines = [`  name: ${literal(d.name)},`, `  task: ${literal(d.task)},`, `  schedule: ${schedule},`];
  for (const key of ORDER) {
    const value = d[key];
    if (value === undefined) continue;
    lines.push(
      `  ${key}: ${key === 'expires' && typeof value === 'number' ? literal(formatDuration(value)) : literal(value)},`,
    );
  }
  return `{\n${lines.join('\n')}\n}`;
}

function renderSpec(spec: ScheduleSpec): { builder: string; code: string } {
  switch (spec.kind) {
    case 'crontab':
      return {
        builder: 'crontab',
        code: `crontab(${literal(spec.cron)}, { tz: ${literal(spec.timezone)} })`,
      };
    case 'interval': {
      const every = typeof spec.every === 'number' ? formatDuration(spec.every) : spec.every;
      const anchor = spec.anchor ? `, { anchor: ${literal(spec.anchor)} }` : '';
      return { builder: 'every', code: `every(${literal(every)}${anchor})` };
    }
    case 'solar':
      return {
        builder: 'solar',
        code: `solar(${literal(spec.event)}, ${literal(spec.latitude)}, ${literal(spec.longitude)})`,
      };
    case 'clocked':
      return { builder: 'clocked', code: `clocked(${literal(spec.runAt)})` };
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const RESERVED = new Set(
  'break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await'.split(
    ' ',
  ),
);

/** A unique exported name for a schedule name: `reports.nightly` → `reports_nightly`. */
function identifier(name: string, used: Set<string>): string {
  let base = name.replace(/[^\w$]+/g, '_').replace(/^_+|_+$/g, '') || 'schedule';
  if (/^\d/.test(base)) base = `_${base}`;
  if (RESERVED.has(base)) base = `${base}_`;
  let id = base;
  for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
  used.add(id);
  return id;
}

/** A TypeScript literal for a JSON-like value (single-quoted strings, bare keys where possible). */
function literal(value: unknown): string {
  if (value instanceof ExactNumber) return declarationNumber(value);
  if (value instanceof Date) return literal(value.toISOString());
  if (typeof value === 'string') return quote(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, v]) => `${IDENTIFIER.test(k) ? k : literal(k)}: ${literal(v)}`).join(', ')} }`;
  }
  return 'undefined';
}

/** A single-quoted string literal; control and line-separator characters escaped. */
function quote(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === "'") out += `\\${ch}`;
    else if (code < 0x20 || code === 0x2028 || code === 0x2029)
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}
