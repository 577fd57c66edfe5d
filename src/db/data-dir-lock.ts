/**
 * An exclusive lock on the embedded database's folder. PGlite does not stop two processes from
 * opening one folder, and two writers corrupt it; so the first opener creates `<dir>/lock` with
 * O_EXCL, and everyone else is refused, naming the holder.
 *
 * A lock left by a process that died (kill -9, power loss) must be taken over, and PIDs alone cannot
 * say whether its holder lives: in a container the beat is PID 1 after every restart, so a crashed
 * PID 1's lock "belongs" to the new PID 1; and a holder in another PID namespace (another container
 * on the same volume) is invisible. So the lock file names its holder fully — PID, the process's
 * start time in clock ticks since boot, the boot id, the PID namespace — and the holder touches the
 * file every HEARTBEAT_MS:
 * - same boot and PID namespace: the holder lives iff a process with that PID *and that start time*
 *   exists (checked in /proc at once);
 * - otherwise (another namespace or host): it lives iff the file's mtime keeps moving; an opener
 *   waits up to STALE_MS to see it move before taking it over.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const HEARTBEAT_MS = 2_000;
const STALE_MS = 3 * HEARTBEAT_MS;

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: string,
  ) {
    super(
      `the embedded database folder ${dataDir} is in use by ${holder}: only one process may open it. Stop that process, point METRONOME_DATA_DIR at another folder, or set DATABASE_URL to share a Postgres database`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

/** Who holds a lock: enough to tell, from anywhere, whether that process still runs. */
interface Holder {
  pid: number;
  /** Start time of the process, clock ticks since boot (/proc/<pid>/stat field 22). */
  start: string | null;
  boot: string | null;
  pidns: string | null;
  host: string;
  token: string;
}

/** Folders this process holds (a second open in the same process is refused without I/O). */
const heldHere = new Set<string>();

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function startTimeOf(pid: number | 'self'): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // The command name (field 2) may contain spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19] ?? null;
}

function pidNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

function me(token: string): Holder {
  return {
    pid: process.pid,
    start: startTimeOf('self'),
    boot: readText('/proc/sys/kernel/random/boot_id')?.trim() ?? null,
    pidns: pidNamespace(),
    host: hostname(),
    token,
  };
}

function parseHolder(text: string | null): Holder | null {
  if (text === null || text.trim() === '') return null;
  try {
    const value = JSON.parse(text) as Holder;
    return Number.isInteger(value.pid) && value.pid > 0 ? value : null;
  } catch {
    // The bare-PID format of earlier versions.
    const pid = Number.parseInt(text.trim(), 10);
    return Number.isInteger(pid) && pid > 0
      ? { pid, start: null, boot: null, pidns: null, host: '', token: '' }
      : null;
  }
}

function describe(holder: Holder): string {
  return `process ${holder.pid}${holder.host && holder.host !== hostname() ? ` on ${holder.host}` : ''}`;
}

type Verdict = 'alive' | 'dead' | 'unknown';

/** Whether the holder runs, when it can be checked directly (same boot and PID namespace). */
function checkDirectly(holder: Holder, here: Holder): Verdict {
  const comparable = holder.boot !== null && holder.boot === here.boot && holder.pidns === here.pidns;
  if (comparable && holder.start !== null) {
    return startTimeOf(holder.pid) === holder.start ? 'alive' : 'dead';
  }
  if (holder.start === null && holder.boot === null) {
    // A lock of the earlier format: only the PID to go by. Our own PID cannot be holding it (this
    // process holds nothing here yet): a restarted container's PID 1 must not refuse itself.
    if (holder.pid === here.pid) return 'dead';
    try {
      process.kill(holder.pid, 0);
      return 'alive';
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
    }
  }
  return 'unknown';
}

function mtimeOf(file: string): number | null {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

/** A holder we cannot check directly lives iff it keeps touching its lock; wait to see. */
async function seenAlive(file: string): Promise<boolean> {
  const first = mtimeOf(file);
  if (first === null) return false;
  const deadline = first + STALE_MS;
  while (Date.now() < deadline) {
    await sleep(Math.min(250, Math.max(10, deadline - Date.now())));
    const now = mtimeOf(file);
    if (now === null) return false;
    if (now > first) return true;
  }
  return false;
}

export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'lock');
  if (heldHere.has(file)) throw new DataDirLockedError(dataDir, `process ${process.pid} (this process)`);
  const here = me(randomUUID());
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${JSON.stringify(here)}\n`);
      fs.closeSync(fd);
      return makeLock(file, here.token);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const text = readText(file);
    const holder = parseHolder(text);
    if (holder === null) {
      // Created but not written yet by a racing opener, or garbage: give the writer a moment.
      await sleep(20);
      if (parseHolder(readText(file)) === null && attempt >= 2) takeOverStale(file, text);
      continue;
    }
    const verdict = checkDirectly(holder, here);
    if (verdict === 'alive' || (verdict === 'unknown' && (await seenAlive(file)))) {
      throw new DataDirLockedError(dataDir, describe(holder));
    }
    takeOverStale(file, text);
  }
  throw new Error(`could not lock ${file}: it keeps changing; is another process starting on ${dataDir}?`);
}

/**
 * Remove a dead holder's lock. Renaming is atomic, so of two processes that both saw the stale
 * lock, only one moves it; if what it moved turns out to be a fresh lock (the other process won and
 * re-created it in between), it is put back.
 */
function takeOverStale(file: string, staleText: string | null): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else moved it; retry the open
  }
  if (readText(aside) !== staleText) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // a third opener holds it now; it will be found by the retry
    }
  }
  fs.rmSync(aside, { force: true });
}

function makeLock(file: string, token: string): DataDirLock {
  heldHere.add(file);
  let released = false;
  const ours = () => parseHolder(readText(file))?.token === token;
  const heartbeat = setInterval(() => {
    const now = new Date();
    if (ours()) fs.utimes(file, now, now, () => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();
  const release = () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    heldHere.delete(file);
    process.removeListener('exit', release);
    // Only remove the lock if it is still ours.
    if (ours()) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return { file, release };
}
