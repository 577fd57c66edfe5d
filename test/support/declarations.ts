/**
 * Declaration folders for sync tests. They live under the repository (in the git-ignored `tmp/`),
 * because `import ... from 'metronome'` resolves by package self-reference, which only works for
 * files inside the package.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './cli.ts';

export interface DeclarationDir {
  /** Absolute path of the folder. */
  dir: string;
  /** Path relative to the repository root, as `--dir` and `source` show it. */
  rel: string;
  write(file: string, text: string): void;
  remove(file: string): void;
  cleanup(): void;
}

let counter = 0;

export function declarationDir(): DeclarationDir {
  const rel = `tmp/decl-${randomBytes(4).toString('hex')}`;
  const dir = path.join(ROOT, rel);
  fs.mkdirSync(dir, { recursive: true });
  return {
    dir,
    rel,
    write(file, text) {
      const target = path.join(dir, file);
      fs.writeFileSync(target, text);
      // A distinct mtime per write, so the loader's cache-busting URL changes even within one ms.
      const t = new Date(Date.now() + ++counter * 1000);
      fs.utimesSync(target, t, t);
    },
    remove(file) {
      fs.rmSync(path.join(dir, file), { force: true });
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
