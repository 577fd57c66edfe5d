/**
 * examples/python-api/schedules.py, run by the real python3 against the API on a real server and
 * real Postgres: it creates one schedule per customer, pauses one, is refused an invalid one with
 * the field named, and a second run changes nothing. The rows and the audit log say so.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { createLogger } from '../../src/logger.ts';
import { ROOT } from '../support/cli.ts';
import { type MountedDashboard, mountDashboard } from '../support/http.ts';
import { migratedDatabasePerFile } from '../support/migrated.ts';

const TOKEN = 'python-token-0123456789abcdef';
const SCRIPT = path.join(ROOT, 'examples/python-api/schedules.py');
let api: MountedDashboard;

const file = migratedDatabasePerFile(
  async (_db, database) => {
    api = await mountDashboard(
      { database, locks: null, group: 'default', log: createLogger({ level: 'silent' }), token: TOKEN },
      new BeatMetrics(),
      () => ({ ready: true, role: 'leader', reasons: [] }),
    );
  },
  async () => api?.close(),
);

function python(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', METRONOME_URL: api.url, METRONOME_API_TOKEN: TOKEN },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', (error) => reject(new Error(`python3 is needed for this test: ${error.message}`)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the Python example creates and pauses schedules through the API', async () => {
  const first = await python(['42', '43', '44']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /invoice\.42: created \(HTTP 201, version "1"\)/);
  assert.match(first.stdout, /invoice\.42: paused/);
  assert.match(first.stdout, /refused: invalid_schedule \['schedule\.timezone'\]/);
  assert.match(first.stdout, /invoice\.43: enabled, next fire \d{4}-\d\d-01T0[45]:00:00\.000Z, version "1"/);
  const rows = await file.db.sql<{ name: string; args: string; paused: boolean; source: string }[]>`
    select name, args::text as args, paused_at is not null as paused, source
    from metronome.schedules order by name`;
  assert.deepEqual(
    [...rows],
    [
      { name: 'invoice.42', args: '[42]', paused: true, source: 'api' },
      { name: 'invoice.43', args: '[43]', paused: false, source: 'api' },
      { name: 'invoice.44', args: '[44]', paused: false, source: 'api' },
    ],
  );
  const again = await python(['42', '43', '44']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /invoice\.43: unchanged \(HTTP 200, version "1"\)/);
  const actions = await file.db.sql<{ actor: string; action: string }[]>`
    select actor, action from metronome.audit_log where schedule_name = 'invoice.42' order by id`;
  assert.deepEqual(
    actions.map((a) => `${a.actor}:${a.action}`),
    ['python-app:create', 'python-app:pause', 'python-app:pause'],
  );
});
