/**
 * Next-fire speed: 100k mixed crontab expressions over four named zones, 10 successive fires each,
 * for the engine and, on the same inputs in the same run, for raw cron-parser next(). Then every
 * engine fire is checked against the brute-force reference (test/support/cron-reference.ts).
 *
 *   npm run bench:next-fire            # all 100k
 *   npm run bench:next-fire -- 20000   # a smaller run
 */
import { performance } from 'node:perf_hooks';
import { CronExpressionParser } from 'cron-parser';
import { compileSchedule, type Schedule } from '../src/time/index.ts';
import { referenceFires } from '../test/support/cron-reference.ts';

const COUNT = Number(process.argv[2] ?? 100_000);
const FIRES = 10;
const ZONES = ['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata'];

// A small deterministic PRNG, so every run measures the same inputs.
let seed = 0x5eed;
const rand = (n: number) => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) | 0;
  return ((seed >>> 0) % n) as number;
};
const FORMS: Array<() => string> = [
  () => `${rand(60)} ${rand(24)} * * *`,
  () => `${rand(60)} * * * *`,
  () => `*/${[5, 10, 15, 20, 30][rand(5)]} * * * *`,
  () => `${rand(60)} ${rand(24)} * * 1-5`,
  () => `${rand(60)} ${rand(24)} ${1 + rand(28)} * *`,
  () => `0 ${rand(24)} * * ${rand(7)}`,
  () => {
    const h = rand(24);
    return `${rand(60)} ${h},${(h + 1 + rand(22)) % 24} * * *`;
  },
  () => `0 */${1 + rand(6)} * * *`,
  () => `${rand(60)} ${rand(60)} ${rand(24)} * * *`,
  () => `0 ${rand(24)} L * *`,
  () => `30 ${rand(24)} * * ${rand(7)}#${1 + rand(4)}`,
  () => `${rand(60)} ${rand(8)}-${8 + rand(12)} * * MON-FRI`,
  () => `0 ${rand(24)} 1 */3 *`,
  () => `*/30 * * * * *`,
];

const inputs = Array.from({ length: COUNT }, (_, i) => ({
  expr: (FORMS[rand(FORMS.length)] as () => string)(),
  zone: ZONES[i % ZONES.length] as string,
  after: Date.UTC(2026, 0, 1) + rand(365 * 24 * 60) * 60_000,
}));

function measure<T>(_label: string, fn: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = fn();
  const ms = performance.now() - start;
  return { result, ms };
}

// Warm up both (JIT, zone tables) on a slice, then measure.
const compiled = measure('compile', () =>
  inputs.map((i) => compileSchedule({ kind: 'crontab', cron: i.expr, timezone: i.zone }, { name: 'bench' })),
);
const schedules: Schedule[] = compiled.result;
const runEngine = () =>
  schedules.map((s, i) => {
    const out = new Array<number>(FIRES);
    let at = (inputs[i] as { after: number }).after;
    for (let k = 0; k < FIRES; k++) {
      at = s.next(at) as number;
      out[k] = at;
    }
    return out;
  });
runEngine();
const engine = measure('engine', runEngine);

// cron-parser takes about a millisecond per call here, so it runs on a fixed sample (every
// PARSER_STRIDE-th input); the engine is timed again on exactly that sample for a like-for-like ratio.
const PARSER_STRIDE = Number(process.env.PARSER_STRIDE ?? 10);
const sample = inputs.map((_, i) => i).filter((i) => i % PARSER_STRIDE === 0);
const parsed = sample.map((i) => {
  const input = inputs[i] as { expr: string; zone: string; after: number };
  return CronExpressionParser.parse(input.expr, { tz: input.zone, currentDate: new Date(input.after) });
});
let parserErrors = 0;
const parser = measure('cron-parser', () =>
  parsed.map((p) => {
    const out: number[] = [];
    try {
      for (let k = 0; k < FIRES; k++) out.push(p.next().getTime());
    } catch {
      parserErrors++;
    }
    return out;
  }),
);
const engineOnSample = measure('engine (sample)', () =>
  sample.map((i) => {
    const s = schedules[i] as Schedule;
    let at = (inputs[i] as { after: number }).after;
    for (let k = 0; k < FIRES; k++) at = s.next(at) as number;
    return at;
  }),
);
let parserDisagree = 0;
sample.forEach((i, j) => {
  const a = engine.result[i] as number[];
  const b = parser.result[j] as number[];
  if (a.some((v, k) => v !== b[k])) parserDisagree++;
});

const reference = measure('reference', () => {
  let disagree = 0;
  for (let i = 0; i < COUNT; i++) {
    const input = inputs[i] as { expr: string; zone: string; after: number };
    const expected = referenceFires(input.expr, input.zone, input.after, FIRES, 'bench').map((f) => f.at);
    const actual = engine.result[i] as number[];
    if (expected.length !== FIRES || expected.some((v, k) => v !== actual[k])) {
      disagree++;
      if (disagree <= 5)
        console.error(
          'disagreement',
          input,
          actual.map((v) => new Date(v).toISOString()),
        );
    }
  }
  return disagree;
});

const calls = COUNT * FIRES;
const sampleCalls = sample.length * FIRES;
const us = (ms: number, n = calls) => ((ms * 1000) / n).toFixed(2);
console.log(`next-fire benchmark: ${COUNT} expressions x ${FIRES} fires, zones ${ZONES.join(', ')}`);
console.log(`node ${process.version}, ${calls} next-fire calls per implementation`);
console.log(
  `compile (cron-parser parse + validation): ${((compiled.ms * 1000) / COUNT).toFixed(1)} us per schedule`,
);
console.log(`engine next():      ${us(engine.ms)} us per next-fire`);
console.log(
  `on the same ${sample.length} inputs (every ${PARSER_STRIDE}th): engine ${us(engineOnSample.ms, sampleCalls)} us, cron-parser next() ${us(parser.ms, sampleCalls)} us per next-fire`,
);
console.log(
  `cron-parser differs from the engine on ${parserDisagree} of ${sample.length} inputs (${parserErrors} threw)`,
);
console.log(`engine disagreements with the brute-force reference: ${reference.result} of ${COUNT} inputs`);
console.log(
  `phases (ms): compile ${compiled.ms.toFixed(0)}, engine ${engine.ms.toFixed(0)}, cron-parser ${parser.ms.toFixed(0)}, reference ${reference.ms.toFixed(0)}`,
);
console.log(`heap used: ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB`);
if (reference.result > 0) process.exitCode = 1;
