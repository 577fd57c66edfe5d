/**
 * Running the Python helpers (the repository's `python/` folder, shipped with the package) with the
 * user's interpreter: `python3` on PATH or `--python`, the working directory first on the import path
 * (so `--app proj.celery:app` finds `proj/` as `celery -A` would). Each helper answers one JSON
 * document on stdout — or `{"error": "..."}`, which becomes a one-line `PythonHelperError`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export class PythonHelperError extends Error {}

/** The helpers' folder: `python/` at the package root, found upwards from this file (src/ or dist/). */
function helpersFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'python', 'metronome_beatsim.py');
    if (existsSync(candidate)) return path.dirname(candidate);
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('the Python helpers (python/metronome_*.py) are missing from the package');
    dir = parent;
  }
}

export interface PythonRun {
  /** The interpreter: `python3` (PATH) by default. */
  python: string;
  /** The helper's file name in python/, e.g. `metronome_celery.py`. */
  script: string;
  args: string[];
  input?: unknown;
  cwd?: string;
  /** What the helper is doing, for messages: `loading the Celery app "proj.celery:app"`. */
  what: string;
}

export async function runPythonHelper<T>(run: PythonRun): Promise<T> {
  const cwd = run.cwd ?? process.cwd();
  const pythonPath = [cwd, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
  const child = spawn(run.python, [path.join(helpersFolder(), run.script), ...run.args], {
    cwd,
    env: { ...process.env, PYTHONPATH: pythonPath, PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = `${stderr}${d}`.slice(-4000);
  });
  const exit = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  child.stdin.on('error', () => {}); // a helper that exits early closes its stdin: its answer says why
  child.stdin.end(run.input === undefined ? '' : JSON.stringify(run.input));
  let code: number | null;
  try {
    code = await exit;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : String(error);
    throw new PythonHelperError(
      `${run.what}: cannot run Python ${JSON.stringify(run.python)} (${reason}); pass --python with the interpreter your Celery app runs under`,
    );
  }
  const answer = lastJsonLine(stdout);
  if (answer && typeof answer === 'object' && 'error' in answer) {
    throw new PythonHelperError(`${run.what}: ${String((answer as { error: unknown }).error)}`);
  }
  if (code !== 0 || answer === undefined) {
    const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
    throw new PythonHelperError(`${run.what}: Python exited with status ${code}${tail ? `: ${tail}` : ''}`);
  }
  return answer as T;
}

function lastJsonLine(text: string): unknown {
  const lines = text.trim().split('\n');
  const last = lines[lines.length - 1];
  if (!last) return undefined;
  try {
    return JSON.parse(last);
  } catch {
    return undefined;
  }
}
