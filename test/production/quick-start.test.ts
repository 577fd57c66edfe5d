/**
 * The README's quick start, as `npm start` runs it after its build: `node bin/beat.js` in the
 * repository, no DATABASE_URL, so the embedded default (PGlite in a data folder, in-process run
 * locks, the log transport) with the example schedules of `schedules/` synced at start. It serves
 * the dashboard, prints a run of `tasks.add` on stdout, and stops cleanly on SIGTERM (Ctrl-C's
 * SIGINT takes the same path).
 *
 * Small on purpose: .ci/run runs this file on the oldest supported Node.js line as well as in the
 * whole suite on the image's line.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BeatProcess, eventually } from '../support/beat-process.ts';
import { BEAT, ROOT } from '../support/cli.ts';
import { freePort } from '../support/redis.ts';

let dataDir: string;
before(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-quick-start-'));
});
after(() => {
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

test(`npm start's beat on the embedded default fires the example and stops cleanly (Node.js ${process.version})`, async () => {
  const port = await freePort();
  const beat = new BeatProcess(
    'quick-start',
    { DATABASE_URL: undefined, METRONOME_DATA_DIR: dataDir, METRONOME_HTTP: `127.0.0.1:${port}` },
    { argv: [process.execPath, BEAT], cwd: ROOT },
  );
  try {
    // `tasks.add` fires every 30 s on a fixed grid; the bound leaves room for a loaded machine.
    const run = await eventually('a run of the tasks.add example on stdout', 180_000, () =>
      beat.enqueued.find((e) => e.schedule === 'tasks.add'),
    );
    assert.deepEqual(run.args, [2, 3]);
    const dashboard = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(dashboard.status, 200, 'the dashboard answers');
    await dashboard.body?.cancel();
  } finally {
    assert.equal(await beat.stop(30_000), 0, 'SIGTERM: exit 0');
  }
  assert.equal(fs.existsSync(path.join(dataDir, 'lock')), false, 'the data folder lock is released');
});
