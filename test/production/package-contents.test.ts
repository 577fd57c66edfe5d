/**
 * What `npm pack` ships: the code, migrations, docs as text — not the dashboard screenshots (nearly
 * 1 MB of PNG that only the repository's pages show).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { ROOT } from '../support/cli.ts';

test('the package ships no images, and the docs and migrations it needs', () => {
  const out = execFileSync('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [packed] = JSON.parse(out) as Array<{ files: Array<{ path: string; size: number }> }>;
  const paths = packed!.files.map((f) => f.path);
  const images = paths.filter((p) => /\.(png|jpe?g|gif|webp)$/i.test(p));
  assert.deepEqual(images, [], 'the package ships images');
  for (const needed of ['docs/api.md', 'migrations/meta/_journal.json', 'bin/beat.js', '.env.example']) {
    assert.ok(paths.includes(needed), `the package lacks ${needed}`);
  }
});
