/**
 * Writing the generated declaration file, and saying per schedule what a re-run changed in it
 * (added, changed, removed, unchanged), by comparing its blocks with the file already there.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface FileChanges {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  /** Whether the file's text differs from what is there (or nothing is there). */
  differs: boolean;
}

/** Each `defineSchedule` block of a generated file, by schedule name. */
function blocks(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const block of text.split('\n\n')) {
    const name = /defineSchedule\(\{\n {2}name: '((?:[^'\\]|\\.)*)'/.exec(block)?.[1];
    if (name !== undefined) out.set(name, block);
  }
  return out;
}

function compareFiles(before: string | null, after: string): FileChanges {
  const old = blocks(before ?? '');
  const next = blocks(after);
  const changes: FileChanges = {
    added: [],
    changed: [],
    removed: [],
    unchanged: [],
    differs: before !== after,
  };
  for (const [name, block] of next) {
    const was = old.get(name);
    if (was === undefined) changes.added.push(name);
    else if (was === block) changes.unchanged.push(name);
    else changes.changed.push(name);
  }
  for (const name of old.keys()) if (!next.has(name)) changes.removed.push(name);
  return changes;
}

/** Compare with the file on disk and (unless dryRun) write it, creating its folder. */
export function writeDeclarationFile(file: string, text: string, dryRun: boolean): FileChanges {
  const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;
  const changes = compareFiles(before, text);
  if (!dryRun && changes.differs) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, text);
  }
  return changes;
}
