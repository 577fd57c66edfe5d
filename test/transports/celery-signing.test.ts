/**
 * Signed messages (Celery's `auth` serializer): with METRONOME_CELERY_SIGNING_KEY/CERT set, a real
 * worker that accepts only signed messages runs the beat's tasks; and global_keyprefix on Redis.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { celeryBeatEnv, startLeadingBeat } from '../support/beat-env.ts';
import { type BeatProcess, eventually } from '../support/beat-process.ts';
import { addSchedule, disable, ledger, settled } from '../support/celery-schedules.ts';
import { celeryServicesPerFile } from '../support/celery-services.ts';
import { CeleryWorker, duplicates } from '../support/celery-worker.ts';
import { beatChild } from '../support/cli.ts';

let beat: BeatProcess | undefined;
let worker: CeleryWorker | undefined;
let dir = '';

const file = celeryServicesPerFile({ redisServers: ['server'] }, undefined, async () => {
  await beat?.stop();
  await worker?.stop();
});

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'metronome-celery-signing-'));
  mkdirSync(join(dir, 'store'));
  execFileSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ].concat(['-days', '2', '-subj', '/C=DE/O=Metronome Test/CN=beat signer']),
    { stdio: 'pipe' },
  );
  writeFileSync(join(dir, 'store', 'cert.pem'), readFileSync(join(dir, 'cert.pem')));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('signed bodies and a global key prefix: a worker accepting only signed messages runs each occurrence once', async () => {
  const redis = file.redis.server;
  const prefix = 'mt-prefix:';
  const env = celeryBeatEnv(
    file.db.url,
    { broker: `${redis.url}/2`, backend: `${redis.url}/3` },
    {
      CELERY_GLOBAL_KEYPREFIX: prefix,
      METRONOME_CELERY_SIGNING_KEY: join(dir, 'key.pem'),
      METRONOME_CELERY_SIGNING_CERT: join(dir, 'cert.pem'),
    },
  );
  worker = await CeleryWorker.start({
    broker: `${redis.url}/2`,
    backend: `${redis.url}/3`,
    globalKeyprefix: prefix,
    security: { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem'), store: join(dir, 'store', '*') },
  });
  beat = await startLeadingBeat(env);
  await addSchedule(file.db.sql, { name: 'signed', task: 'tasks.record', everyMs: 1000, args: [7] });
  await eventually('three signed runs', 8_000, () => (worker?.starts().length ?? 0) >= 3);
  await disable(file.db.sql, ['signed']);
  await settled(file.db.sql, ['signed'], 10_000);
  const rows = await ledger(file.db.sql, 'signed');
  const starts = worker.starts();
  assert.deepEqual(duplicates(starts), []);
  assert.equal(starts.length, rows.length);
  for (const row of rows) {
    assert.equal(row.status, 'succeeded', `${row.task_id}: ${row.status} ${row.error}`);
    assert.deepEqual(starts.find((s) => s.id === row.task_id)?.args, [7]);
  }
  assert.doesNotMatch(worker.output, /ContentDisallowed|SecurityError/);
});

test('signing settings are checked at start: a key without its certificate is refused, naming the variable', async () => {
  const redis = file.redis.server;
  const result = await beatChild(['run'], {
    env: {
      DATABASE_URL: file.db.url,
      METRONOME_HTTP: 'off',
      REDIS_URL: '',
      BROKER_URL: `${redis.url}/2`,
      METRONOME_CELERY_SIGNING_KEY: join(dir, 'key.pem'),
      METRONOME_CELERY_SIGNING_CERT: '',
    },
  });
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    result.stderr,
    /METRONOME_CELERY_SIGNING_CERT.*is required when METRONOME_CELERY_SIGNING_KEY is set/,
  );
});
