/**
 * Finding declarations: import every `*.ts` file of the schedules folder (under tsx, which the
 * `beat` command runs in) and collect the declarations it exports. Problems — a file that does not
 * load, two declarations with one name — are collected, not thrown, so all of them are reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isScheduleDeclaration, type ScheduleDeclaration } from './api.ts';

export interface FoundDeclaration {
  /** The file, relative to the working directory with `/` separators (stored as `source`). */
  file: string;
  declaration: ScheduleDeclaration;
}

export interface SyncProblem {
  file: string;
  schedule?: string;
  field?: string;
  reason: string;
}

export function formatProblem(p: SyncProblem): string {
  return [p.file, p.schedule === undefined ? undefined : `schedule "${p.schedule}"`, p.field, p.reason]
    .filter((part) => part !== undefined)
    .join(': ');
}

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

function isDeclarationFile(name: string): boolean {
  return (
    EXTENSIONS.some((ext) => name.endsWith(ext)) &&
    !name.endsWith('.d.ts') &&
    !/\.(test|spec)\.[mc]?[jt]s$/.test(name)
  );
}

function relative(file: string, cwd: string): string {
  return path.relative(cwd, file).split(path.sep).join('/');
}

export async function loadDeclarations(
  dir: string,
  cwd = process.cwd(),
): Promise<{ found: FoundDeclaration[]; problems: SyncProblem[]; files: string[] }> {
  const folder = path.resolve(cwd, dir);
  const shown = relative(folder, cwd) || '.';
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    return {
      found: [],
      files: [],
      problems: [
        { file: shown, reason: 'no such folder; create it or pass --dir with the folder of your schedules' },
      ],
    };
  }
  const files = fs
    .readdirSync(folder)
    .filter(isDeclarationFile)
    .sort()
    .map((name) => path.join(folder, name));
  const found: FoundDeclaration[] = [];
  const problems: SyncProblem[] = [];
  for (const file of files) {
    const rel = relative(file, cwd);
    let module: Record<string, unknown>;
    try {
      // The mtime in the URL makes a re-run in one process (tests, a watcher) see edited files.
      const url = `${pathToFileURL(file).href}?mtime=${fs.statSync(file).mtimeMs}`;
      module = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      problems.push({
        file: rel,
        reason: `cannot load the file: ${error instanceof Error ? error.message : String(error)}`,
      });
      continue;
    }
    const seen = new Set<unknown>();
    for (const value of Object.values(module)) {
      for (const item of Array.isArray(value) ? value : [value]) {
        if (isScheduleDeclaration(item) && !seen.has(item)) {
          seen.add(item);
          found.push({ file: rel, declaration: item });
        }
      }
    }
  }
  // One name, one schedule: a second declaration would silently overwrite the first on every sync.
  const byName = new Map<string, FoundDeclaration[]>();
  for (const f of found) {
    const name = f.declaration.name;
    if (typeof name !== 'string') continue;
    byName.set(name, [...(byName.get(name) ?? []), f]);
  }
  for (const [name, group] of byName) {
    if (group.length < 2) continue;
    const where = group.map((g) => g.file).join(' and ');
    problems.push({
      file: group[0]!.file,
      schedule: name,
      field: 'name',
      reason: `declared ${group.length} times (in ${where}); schedule names must be unique`,
    });
  }
  return { found, problems, files: files.map((f) => relative(f, cwd)) };
}
