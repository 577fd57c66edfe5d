/**
 * The embedded database's folder lock after a crash, when the restarted process has the crashed
 * one's PID — as in a container, where the beat is PID 1 every time. Run in a fresh PID namespace
 * (`unshare --pid --fork --mount-proc`), where node is PID 1 like in a container. A lock left by a
 * crashed PID 1 must be taken over; a lock held by a live process must still be refused.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { lockDataDir } from '../../src/db/data-dir-lock.ts';
import { ROOT } from '../support/cli.ts';

const LOCK_MODULE = path.join(ROOT, 'src/db/data-dir-lock.ts');

/** Take the folder's lock as PID 1 of a new PID namespace; returns what it printed. */
async function lockAsPid1(dir: string, crash = false): Promise<{ status: number | null; out: string }> {
  // process.reallyExit skips the 'exit' handlers, so the lock is left behind as by a crash.
  const script = `
    const { lockDataDir } = await import(${JSON.stringify(LOCK_MODULE)});
    try { await lockDataDir(${JSON.stringify(dir)}); console.log('locked as pid ' + process.pid); }
    catch (e) { console.log('refused: ' + e.message); process.exitCode = 3; }
    if (${crash} && process.exitCode !== 3) process.reallyExit(0);`;
  // Asynchronously: this process's own lock must keep its heartbeat while the child looks.
  const child = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ],
    { cwd: ROOT },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  const status = await new Promise<number | null>((resolve, reject) => {
    child.on('error', (e) =>
      reject(new Error(`this test needs unshare(1) (util-linux) and root: ${e.message}`)),
    );
    child.on('exit', resolve);
  });
  if (status !== 0 && status !== 3) {
    throw new Error(`unshare failed (this test needs root to make a PID namespace): ${err}`);
  }
  return { status, out: out.trim() };
}

test('a lock left by a crashed PID 1 is taken over by the next PID 1', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-lock-'));
  try {
    const first = await lockAsPid1(dir, true);
    assert.equal(first.out, 'locked as pid 1');
    assert.ok(fs.existsSync(path.join(dir, 'lock')), 'the crash left its lock behind');
    const second = await lockAsPid1(dir);
    assert.equal(second.out, 'locked as pid 1', 'the restarted PID 1 is not refused by its own PID');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock held by a live process is refused, also when the holder has our PID in another namespace', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-lock-'));
  const lock = await lockDataDir(dir);
  try {
    const other = await lockAsPid1(dir);
    assert.match(other.out, /^refused: .*in use by process/);
  } finally {
    lock.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
