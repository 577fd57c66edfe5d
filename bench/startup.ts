/**
 * Command start-up: wall time of `beat next ...` and `beat --help` as a user runs them
 * (`node bin/beat.js`, a fresh process each time), against the floor of a bare `node -e 0`.
 * Target (issue 13): at most 300 ms for both.
 *
 *   node --import tsx bench/startup.ts          # 15 runs of each command
 *   node --import tsx bench/startup.ts 30       # more runs
 *
 * Build first (`npm run build`): bin/beat.js runs the compiled dist/.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BEAT = path.join(ROOT, 'bin/beat.js');
const RUNS = Number(process.argv[2] ?? 15);

const COMMANDS: Array<{ label: string; args: string[] }> = [
  {
    label: "beat next '30 2 * * *' --tz Europe/Berlin --count 5",
    args: ['next', '30 2 * * *', '--tz', 'Europe/Berlin', '--count', '5'],
  },
  { label: 'beat --help', args: ['--help'] },
];

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

console.log(`start-up benchmark: ${RUNS} runs per command, node ${process.version}, ${BEAT}`);
for (const { label, args } of COMMANDS) {
  spawnSync(process.execPath, [BEAT, ...args]); // warm the file cache
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [BEAT, ...args], { encoding: 'utf8' });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (result.status !== 0) throw new Error(`${label} exited ${result.status}: ${result.stderr}`);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${label}\n  median ${quantile(times, 0.5).toFixed(0)} ms, p90 ${quantile(times, 0.9).toFixed(0)} ms, min ${times[0]!.toFixed(0)} ms`,
  );
}
const bare = [];
for (let i = 0; i < RUNS; i++) {
  const started = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  bare.push(Number(process.hrtime.bigint() - started) / 1e6);
}
bare.sort((a, b) => a - b);
console.log(`node -e 0 (the floor)\n  median ${quantile(bare, 0.5).toFixed(0)} ms`);
