/**
 * An exclusive lock on the embedded database's folder. PGlite does not stop two processes from
 * opening one folder, and two writers corrupt it; so the first opener creates `<dir>/lock` with
 * O_EXCL and its pid inside, and everyone else is refused with the holder's pid. A lock left by a
 * process that died (kill -9, power loss) is detected by its pid no longer existing, and taken over.
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `the embedded database folder ${dataDir} is in use by process ${holderPid}${
        holderPid === process.pid ? ' (this process)' : ''
      }: only one process may open it. Stop that process, point METRONOME_DATA_DIR at another folder, or set DATABASE_URL to share a Postgres database`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function lockDataDir(dataDir: string): DataDirLock {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'lock');
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return makeLock(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = readPid(file);
    if (holder === null) {
      // Created but not written yet by a racing opener, or garbage: give the writer a moment.
      sleepSync(20);
      if (readPid(file) === null && attempt >= 2) takeOverStale(file, null);
      continue;
    }
    if (isAlive(holder)) throw new DataDirLockedError(dataDir, holder);
    takeOverStale(file, holder);
  }
  throw new Error(`could not lock ${file}: it keeps changing; is another process starting on ${dataDir}?`);
}

/**
 * Remove a dead holder's lock. Renaming is atomic, so of two processes that both saw the stale
 * lock, only one moves it; if what it moved turns out to be a fresh lock (the other process won and
 * re-created it in between), it is put back.
 */
function takeOverStale(file: string, deadPid: number | null): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch {
    return; // someone else moved it; retry the open
  }
  if (readPid(aside) !== deadPid) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // a third opener holds it now; it will be found by the retry
    }
  }
  fs.rmSync(aside, { force: true });
}

function makeLock(file: string): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    // Only remove the lock if it is still ours.
    if (readPid(file) === process.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return { file, release };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
