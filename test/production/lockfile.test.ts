/**
 * A newcomer's `npm install` on a fresh clone: it leaves the committed package-lock.json as it is and
 * prints no engine warning for any dependency on the Node.js the suite runs on (CI runs this file on
 * every supported line it runs: the image's, and the oldest one in .ci/run's short run).
 *
 * `npm install --package-lock-only` in a folder holding only package.json and the lock is the install's
 * tree resolution and engine check without the download: what a fresh clone's `npm install` writes to
 * the lock, in seconds. Needs the npm registry only for what the lock does not already pin.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
let install: { code: number | null; stdout: string; stderr: string };

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-lock-'));
  for (const file of ['package.json', 'package-lock.json'])
    fs.copyFileSync(path.join(root, file), path.join(dir, file));
  const result = spawnSync(
    'npm',
    ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=warn'],
    {
      cwd: dir,
      encoding: 'utf8',
      // npm runs on the Node.js running this test (its `#!/usr/bin/env node` finds this one first).
      env: {
        ...process.env,
        PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
        npm_config_update_notifier: 'false',
      },
    },
  );
  install = { code: result.status, stdout: result.stdout, stderr: result.stderr };
  assert.equal(install.code, 0, `npm install --package-lock-only failed:\n${install.stderr}`);
});
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('npm install on a fresh clone leaves package-lock.json unchanged', () => {
  const committed = fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8');
  const written = fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8');
  if (written === committed) return;
  const before = committed.split('\n');
  const after = written.split('\n');
  const first = after.findIndex((line, i) => line !== before[i]);
  assert.fail(
    `npm install rewrote package-lock.json (first change at line ${first + 1}: ` +
      `${JSON.stringify(before[first])} became ${JSON.stringify(after[first])}); ` +
      'run `npm install` and commit the lock it writes',
  );
});

test('npm warns about no engine on a Node.js that package.json supports', () => {
  // npm prints one EBADENGINE block per package, naming it on the line after the header.
  const packages = [...install.stderr.matchAll(/EBADENGINE\s+package: '([^']+)'/g)].map((m) => m[1] ?? '');
  const unsupported = packages.some((name) => name.startsWith('metronome@'));
  // On a Node.js outside our own `engines` (an end-of-life line), npm says so by name: that is the
  // warning the user needs, and the dependencies' agree with it.
  if (unsupported) return;
  assert.deepEqual(
    packages,
    [],
    `on Node.js ${process.version}, which package.json's engines accept, npm install warns about the ` +
      `engines of: ${packages.join(', ')}`,
  );
});

test('every dependency with an install script is reviewed in allowScripts (npm 11.16+ warns, npm 12 blocks)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    allowScripts?: Record<string, boolean>;
  };
  const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  const withScripts = Object.entries(lock.packages)
    .filter(([where, entry]) => where !== '' && entry.hasInstallScript)
    .map(([where]) => where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length));
  const unreviewed = [...new Set(withScripts)].filter((name) => pkg.allowScripts?.[name] === undefined);
  assert.deepEqual(
    unreviewed,
    [],
    `add to package.json's allowScripts (true or false): ${unreviewed.join(', ')}`,
  );
});
