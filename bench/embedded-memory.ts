/**
 * The embedded default's memory (issue 16): `beat run` as `npm start` runs it — PGlite in a fresh
 * data folder, the in-process run lock, the log transport, the example schedules in schedules/ —
 * sampled for RSS (/proc/<pid>/status VmRSS) every second; prints the peak during start-up and the
 * steady figure (the largest sample of the last half of the run) with the load average.
 *
 *   npm run build --silent -- --noCheck     # the process runs dist/
 *   node --import tsx bench/embedded-memory.ts [--seconds 60]
 *
 * EMBEDDED_BEAT=/other/checkout/bin/beat.js measures another build (a before figure).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BeatProcess, sleep } from '../test/support/beat-process.ts';
import { BEAT as OUR_BEAT, ROOT } from '../test/support/cli.ts';

const args = process.argv.slice(2);
const i = args.indexOf('--seconds');
const SECONDS = Number(i >= 0 ? args[i + 1] : 60);
const BEAT = process.env.EMBEDDED_BEAT ?? OUR_BEAT;
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const rssMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'metronome-embedded-'));
console.log(`embedded: ${BEAT}, node ${process.version}, ${SECONDS} s, load average ${load()}`);
const beat = new BeatProcess(
  'embedded',
  {
    DATABASE_URL: undefined,
    BROKER_URL: undefined,
    REDIS_URL: undefined,
    METRONOME_DATA_DIR: dataDir,
    METRONOME_HTTP: 'off',
    LOG_LEVEL: 'info',
  },
  { argv: [process.execPath, BEAT, 'run'], cwd: ROOT },
);
const pid = beat.child.pid as number;
const samples: number[] = [];
const t0 = Date.now();
try {
  await beat.waitForLog('tick loop started', 120_000);
  console.log(`tick loop started after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  while (Date.now() - t0 < SECONDS * 1000) {
    samples.push(rssMb(pid));
    await sleep(1_000);
  }
} finally {
  await beat.stop(30_000);
  rmSync(dataDir, { recursive: true, force: true });
}
const steady = Math.max(...samples.slice(Math.floor(samples.length / 2)));
console.log(
  `RSS peak ${Math.max(...samples).toFixed(0)} MB, steady ${steady.toFixed(0)} MB (largest sample of the last ${Math.ceil(samples.length / 2)} s), ${beat.enqueued.length} runs enqueued; load average ${load()}`,
);
