/**
 * Finding declarations: every `*.ts` (or `.js`) file of the schedules folder is the user's code, so
 * it is imported in a child process of its own (load-child.ts, under tsx, the TypeScript loader
 * for the user's files; our own code runs compiled). There a file that calls process.exit gets an
 * error, and here a file that ends that process or never finishes loading (a top-level await that
 * never settles) is reported by name after a time limit, and loading goes on with the next file in
 * a new child. Problems — those, a file that does not load, two declarations with one name — are
 * collected, not thrown, so all of them are reported at once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { formatDuration } from '../time/index.ts';
import { type CalendarDeclarationInput, defineSchedule, type ScheduleDeclaration } from './api.ts';
import type { ChildMessage } from './load-protocol.ts';

export interface FoundDeclaration {
  /** The file, relative to the working directory with `/` separators (stored as `source`). */
  file: string;
  declaration: ScheduleDeclaration;
}

/** A `defineCalendar` found in a declaration file. */
export interface FoundCalendar {
  file: string;
  declaration: CalendarDeclarationInput;
}

export interface SyncProblem {
  file: string;
  schedule?: string;
  /** The calendar declaration at fault (instead of a schedule). */
  calendar?: string;
  field?: string;
  reason: string;
}

export function formatProblem(p: SyncProblem): string {
  return [
    p.file,
    p.schedule === undefined ? undefined : `schedule "${p.schedule}"`,
    p.calendar === undefined ? undefined : `calendar "${p.calendar}"`,
    p.field,
    p.reason,
  ]
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

export interface LoadOptions {
  /** Longest one file may take to load; default 10 s. */
  timeoutMs?: number;
}

/** Longest the loader process may take to start (our code and tsx, not the user's): generous. */
const STARTUP_TIMEOUT_MS = 60_000;

const DEFAULT_DECLARATION_TIMEOUT_MS = 10_000;

export async function loadDeclarations(
  dir: string,
  cwd = process.cwd(),
  options: LoadOptions = {},
): Promise<{
  found: FoundDeclaration[];
  calendars: FoundCalendar[];
  problems: SyncProblem[];
  files: string[];
}> {
  const folder = path.resolve(cwd, dir);
  const shown = relative(folder, cwd) || '.';
  if (!fs.existsSync(folder) || !fs.statSync(folder).isDirectory()) {
    return {
      found: [],
      calendars: [],
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
  const calendars: FoundCalendar[] = [];
  const problems: SyncProblem[] = [];
  let remaining = files;
  while (remaining.length > 0) {
    const run = await loadInChild(remaining, cwd, options.timeoutMs ?? DEFAULT_DECLARATION_TIMEOUT_MS);
    for (const message of run.messages) {
      const file = relative(message.file, cwd);
      if (message.type === 'failed') problems.push({ file, reason: message.reason });
      else {
        for (const declaration of message.declarations)
          found.push({ file, declaration: defineSchedule(declaration as never) });
        for (const u of message.unreadable) problems.push({ file, schedule: u.name, reason: u.reason });
        for (const c of message.calendars ?? [])
          calendars.push({ file, declaration: c as unknown as CalendarDeclarationInput });
      }
    }
    if (!run.stopped) break;
    const { file, reason } = run.stopped;
    if (file === undefined) {
      problems.push({ file: shown, reason: `cannot load the declaration files: ${reason}` });
      break;
    }
    problems.push({ file: relative(file, cwd), reason });
    remaining = remaining.slice(remaining.indexOf(file) + 1);
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
  const calendarFiles = new Map<string, string[]>();
  for (const c of calendars) {
    const name = String(c.declaration.name);
    calendarFiles.set(name, [...(calendarFiles.get(name) ?? []), c.file]);
  }
  for (const [name, where] of calendarFiles) {
    if (where.length < 2) continue;
    problems.push({
      file: where[0]!,
      calendar: name,
      field: 'name',
      reason: `declared ${where.length} times (in ${where.join(' and ')}); calendar names must be unique`,
    });
  }
  return { found, calendars, problems, files: files.map((f) => relative(f, cwd)) };
}

const OWN_EXTENSION = path.extname(new URL(import.meta.url).pathname);
const CHILD = new URL(`./load-child${OWN_EXTENSION}`, import.meta.url);
const TSX = import.meta.resolve('tsx');

type FileResult = Extract<ChildMessage, { type: 'loaded' | 'failed' }>;

/**
 * Load `files` in one child process until it finishes, or stops at a file: it ended the process or
 * took longer than `timeoutMs` (then it is killed). `stopped.file` is undefined when the child
 * stopped before its first file (it could not start).
 */
function loadInChild(
  files: string[],
  cwd: string,
  timeoutMs: number,
): Promise<{ messages: FileResult[]; stopped?: { file: string | undefined; reason: string } }> {
  return new Promise((resolve) => {
    const messages: FileResult[] = [];
    let current: string | undefined;
    let done = false;
    let timedOut = false;
    let output = '';
    const child: ChildProcess = fork(CHILD, files, {
      cwd,
      execArgv: ['--import', TSX],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    // What a file prints goes to stderr: stdout is kept for the command's own output (--json).
    const relay = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2_000);
      process.stderr.write(chunk.toString());
    };
    child.stdout?.on('data', relay);
    child.stderr?.on('data', relay);
    let timer = setTimeout(onTimeout, STARTUP_TIMEOUT_MS);
    function onTimeout() {
      timedOut = true;
      child.kill('SIGKILL');
    }
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'loading') {
        current = message.file;
        clearTimeout(timer);
        timer = setTimeout(onTimeout, timeoutMs);
      } else if (message.type === 'done') done = true;
      else messages.push(message);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ messages, stopped: { file: current, reason: error.message } });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (done) return resolve({ messages });
      const reason = timedOut
        ? current === undefined
          ? `the loader process did not start within ${formatDuration(STARTUP_TIMEOUT_MS)}`
          : `did not finish loading within ${formatDuration(timeoutMs)} (a top-level await that never settles?); set METRONOME_DECLARATION_TIMEOUT for a slower file`
        : `the process loading it ended (${signal ?? `exit code ${code}`}) before the file finished loading${
            output.trim() ? `: ${output.trim().split('\n').slice(-3).join(' ')}` : ''
          }`;
      resolve({ messages, stopped: { file: current, reason } });
    });
  });
}
