/**
 * The README's user journey in a project of the user's own: an empty folder, `npm init -y`, the
 * packed package installed with production dependencies only — by the Dockerfile's own install
 * line — then schedules/jobs.ts and a tsconfig.json as a user writes them, type-checked with the
 * user's tsc; `npx beat sync --dry-run`, `npx beat next`, and the image's ENTRYPOINT + CMD run
 * against Postgres until a run is enqueued. Needs the npm registry (npm's cache makes repeats fast).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BeatProcess, eventually } from '../support/beat-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { dockerfileRuntime, productionInstall } from '../support/production-install.ts';

let pg: TestDatabase;
let install: { dir: string; cleanup(): void };

before(async () => {
  pg = await createTestDatabase();
  install = productionInstall();
});
after(async () => {
  install?.cleanup();
  await pg?.drop();
});

const JOBS = `import { crontab, defineSchedule, every } from 'metronome';

export const ping = defineSchedule({
  name: 'ops.ping',
  task: 'ops.ping',
  schedule: every('2s'),
  catchup: 'skip',
});

export const nightly = defineSchedule({
  name: 'reports.nightly',
  task: 'reports.nightly',
  schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
  kwargs: { format: 'pdf' },
});

// The types are real: a wrong field is a compile error (an unused expect-error would be one too).
// Not exported, so never synced.
// @ts-expect-error priority is a number
const typo = defineSchedule({ name: 'typo', task: 'typo', schedule: every('1m'), priority: 'high' });
void typo;
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
  },
  include: ['schedules'],
};

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd: install.dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a user project installs the package, type-checks its schedules and runs beat', async () => {
  const dir = install.dir;
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/metronome/package.json'), 'utf8'));
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/metronome/src')), 'no TypeScript sources shipped');
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/metronome/test')), 'no tests shipped');
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/typescript')), 'production dependencies only');

  fs.mkdirSync(path.join(dir, 'schedules'));
  fs.writeFileSync(path.join(dir, 'schedules/jobs.ts'), JOBS);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const typescript = run('npm', ['install', '--save-dev', '--no-audit', '--no-fund', 'typescript@5']);
  assert.equal(typescript.code, 0, typescript.stderr);
  const tsc = run('npx', ['tsc', '-p', '.']);
  assert.equal(tsc.code, 0, `the user's tsc: ${tsc.stdout}${tsc.stderr}`);

  const version = run('npx', ['beat', '--version']);
  assert.equal(version.stdout.trim(), pkg.version);

  const env = { DATABASE_URL: pg.url, LOG_LEVEL: 'warn' };
  const dry = run('npx', ['beat', 'sync', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /create\s+ops\.ping\s+\(schedules\/jobs\.ts\)/);
  assert.match(dry.stdout, /Dry run: nothing written/);

  const next = run('npx', [
    '--no',
    'beat',
    'next',
    '30 2 * * *',
    '--tz',
    'Europe/Berlin',
    '--after',
    '2026-03-27T00:00:00Z',
    '--count',
    '3',
  ]);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stdout, /2026-03-29 03:30:00 \+02:00\s+shifted/);

  // The image's entry, in the image's working directory: ENTRYPOINT + CMD.
  const stage = dockerfileRuntime();
  const beat = new BeatProcess(
    'consumer',
    { ...env, LOG_LEVEL: 'info' },
    {
      argv: [...stage.entrypoint, ...stage.cmd],
      cwd: dir,
    },
  );
  try {
    await beat.waitForLog('synced schedules at start', 60_000);
    const ping = await eventually('a run of ops.ping enqueued', 60_000, () =>
      beat.enqueued.find((e) => e.schedule === 'ops.ping'),
    );
    assert.match(ping.taskId, /^[0-9a-f-]{36}$/);
  } finally {
    assert.equal(await beat.stop(), 0);
  }
});
