/**
 * A declaration file is the user's code, run to read its exports. Whatever it does — exit the
 * process, never finish loading, hold values that are not data — `beat sync` and `beat` report the
 * file and stop with exit 2; they never exit 0 silently or hang. Run as real processes (bin/beat.js),
 * since a file that exits would otherwise end the test runner itself.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { loadDeclarations } from '../../src/declare/load.ts';
import { beatChild } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
let decl: DeclarationDir;

before(async () => {
  pg = await createTestDatabase();
});
after(async () => {
  await pg?.drop();
});
beforeEach(() => {
  decl = declarationDir();
});
afterEach(() => decl.cleanup());

const GOOD = `
import { defineSchedule, every } from 'metronome';
export const ping = defineSchedule({ name: 'ops.ping', task: 'ops.ping', schedule: every('30s') });
`;
/** A file after the troublesome one, with a mistake of its own: reported too (loading went on). */
const LATER_BAD = `
import { defineSchedule, every } from 'metronome';
export const later = defineSchedule({ name: 'later.bad', task: 'later.bad', schedule: every('0s') });
`;
const EXITS = `
import { defineSchedule, every } from 'metronome';
export const x = defineSchedule({ name: 'exits.x', task: 'x', schedule: every('1m') });
process.exit(0);
`;
const HANGS = `
import { defineSchedule, every } from 'metronome';
export const h = defineSchedule({ name: 'hangs.h', task: 'h', schedule: every('1m') });
// A top-level await that never settles, with a timer keeping the event loop busy.
await new Promise(() => { setInterval(() => {}, 1_000); });
`;
const KILLS = `
process.kill(process.pid, 'SIGKILL');
`;

const env = () => ({ DATABASE_URL: pg.url, METRONOME_DECLARATION_TIMEOUT: '4s', LOG_LEVEL: 'warn' });

test('a file calling process.exit(0) fails `beat sync --dry-run` with exit 2 naming the file', async () => {
  decl.write('a-good.ts', GOOD);
  decl.write('b-exits.ts', EXITS);
  decl.write('c-later.ts', LATER_BAD);
  const run = await beatChild(['sync', '--dry-run', '--dir', decl.rel], { env: env() });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, new RegExp(`${decl.rel}/b-exits\\.ts: .*process\\.exit\\(0\\)`));
  assert.match(run.stderr, new RegExp(`${decl.rel}/c-later\\.ts: schedule "later.bad": schedule.every`));
});

test('a file whose top-level await never settles fails `beat sync` within the time limit', async () => {
  decl.write('a-hangs.ts', HANGS);
  decl.write('b-later.ts', LATER_BAD);
  const started = Date.now();
  const run = await beatChild(['sync', '--dry-run', '--dir', decl.rel], { env: env() });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, new RegExp(`${decl.rel}/a-hangs\\.ts: did not finish loading within 4s`));
  assert.match(run.stderr, new RegExp(`${decl.rel}/b-later\\.ts: schedule "later.bad"`));
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
});

test('`beat` refuses to start (exit 2, naming the file) when a declaration exits or hangs', async () => {
  for (const [file, text, reason] of [
    ['exits.ts', EXITS, /exits\.ts: .*process\.exit\(0\)/],
    ['hangs.ts', HANGS, /hangs\.ts: did not finish loading within 4s/],
  ] as const) {
    decl.remove('exits.ts');
    decl.write(file, text);
    const run = await beatChild(['run'], {
      env: { ...env(), METRONOME_SCHEDULES_DIR: decl.rel, METRONOME_HTTP: 'off' },
    });
    assert.equal(run.code, 2, `${file}: ${run.stderr}`);
    assert.match(run.stderr, reason);
  }
});

test('a file that kills its own process is reported, and the other files still load', async () => {
  decl.write('a-kills.ts', KILLS);
  decl.write('b-good.ts', GOOD);
  const { found, problems } = await loadDeclarations(decl.rel, undefined, { timeoutMs: 5_000 });
  assert.deepEqual(
    found.map((f) => f.declaration.name),
    ['ops.ping'],
  );
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.file, `${decl.rel}/a-kills.ts`);
  assert.match(problems[0]!.reason, /the process loading it ended \(SIGKILL\)/);
});

test('declarations keep their values across the process boundary: dates, and no non-data', async () => {
  decl.write(
    'values.ts',
    `import { defineSchedule, every } from 'metronome';
export const d = defineSchedule({ name: 'd', task: 'd', schedule: every('1m'), startAt: new Date('2030-01-01T00:00:00Z'), kwargs: { n: 1.5, s: 'x' } });
export const f = defineSchedule({ name: 'f', task: 'f', schedule: every('1m'), kwargs: { when: () => 1 } as never });
`,
  );
  const { found, problems } = await loadDeclarations(decl.rel, undefined, { timeoutMs: 5_000 });
  const d = found.find((x) => x.declaration.name === 'd')!.declaration;
  assert.ok(d.startAt instanceof Date);
  assert.equal((d.startAt as Date).toISOString(), '2030-01-01T00:00:00.000Z');
  assert.deepEqual(d.kwargs, { n: 1.5, s: 'x' });
  assert.equal(found.filter((x) => x.declaration.name === 'f').length, 0);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.schedule, 'f');
  assert.match(problems[0]!.reason, /function/);
});
