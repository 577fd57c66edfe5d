/**
 * `beat import ... --check` on schedules that fire very often or stop early, against real Celery 5.2:
 * an entry whose `expires` instant lies in the window (celery beat keeps sending it, its workers
 * discard every message as expired; Metronome stops there: the same runs), the cap on compared fires
 * held around each UTC offset change too, and a text report of any length.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { formatCheck } from '../../src/cli/import-output.ts';
import type { CheckReport } from '../../src/import/check/check.ts';
import { PYTHON, requireCelery } from '../support/celery-worker.ts';
import { beat } from '../support/cli.ts';
import { type DeclarationDir, declarationDir } from '../support/declarations.ts';

const APP = `
import os
from datetime import datetime, timezone
from celery import Celery

app = Celery('limitsapp', broker='memory://')
app.conf.result_expires = None  # no celery.backend_cleanup entry
app.conf.timezone = 'Europe/Berlin'
expired = {'expires': datetime(2027, 10, 26, tzinfo=timezone.utc)}
app.conf.beat_schedule = {
    'minutely-until': {'task': 'tasks.record', 'schedule': 60.0, 'options': expired},
} if os.environ.get('MT_VARIANT') != 'second' else {
    'every-second': {'task': 'tasks.record', 'schedule': 1.0},
    'every-second-until': {'task': 'tasks.record', 'schedule': 1.0, 'options': expired},
}
`;

let decl: DeclarationDir;
let appDir: string;

before(() => {
  requireCelery();
  decl = declarationDir();
  appDir = path.join(decl.dir, 'app');
  fs.mkdirSync(appDir);
  fs.writeFileSync(path.join(appDir, 'limitsapp.py'), APP);
});

after(() => decl?.cleanup());

// Ten days around the fall-back of 31 October 2027 in Berlin.
const check = (variant: string, ...args: string[]) =>
  beat(
    [
      'import',
      'celery',
      '--app',
      'limitsapp:app',
      '--python',
      PYTHON,
      '--check',
      '--from',
      '2027-10-25T00:00:00Z',
      '--window',
      '10d',
      ...args,
    ],
    { PYTHONPATH: appDir, MT_VARIANT: variant },
  );

type Report = {
  schedules: { name: string; fires: number; partial: string | null; differences: unknown[] }[];
};

test("an entry past its expires instant: Celery's sends the workers discard are not differences", async () => {
  const result = await check('', '--json');
  assert.equal(result.code, 0, result.stdout + result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  assert.deepEqual(report.schedules[0]?.differences, []);
});

test('a schedule firing every second: the cap holds around the offset change, and the text report prints', async () => {
  const json = await check('second', '--json');
  const report = JSON.parse(json.stdout) as Report;
  for (const s of report.schedules) {
    assert.ok(s.fires <= 40_000, `${s.name}: ${s.fires} fires compared`);
    assert.match(String(s.partial), /around each of the 1 UTC offset change/);
  }
  const until = report.schedules.find((s) => s.name === 'every-second-until');
  assert.deepEqual(until?.differences, [], 'expired: no differences');
  const text = await check('second');
  assert.equal(text.stderr, '');
  assert.match(text.stdout, /differs {2}every-second {2}\(\d+ fires, \d+ differences/);
});

test('the text report of a hundred thousand differences', () => {
  const differences = Array.from({ length: 200_000 }, (_, i) => ({
    celery: new Date(Date.UTC(2027, 0, 1) + i * 1000).toISOString(),
    metronome: null,
    local: '-',
    reason: 'no known cause (no DST change nearby): please report it with the schedule',
  }));
  const report: CheckReport = {
    from: '2027-01-01T00:00:00.000Z',
    to: '2027-02-01T00:00:00.000Z',
    equal: false,
    schedules: [{ name: 'many', fires: 0, partial: null, differences, error: null }],
  };
  const text = formatCheck(report, 'Celery (app)');
  assert.match(text, /They differ at the instants above/);
  assert.equal(text.split('\n').length, 200_000 + 6);
});
