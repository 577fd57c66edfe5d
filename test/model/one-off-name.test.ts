/**
 * One name for one-off schedules: `clocked`, as the stored kind, `beat list`, the API and
 * django-celery-beat call it. The declaration builder is `clocked(...)` (`at(...)` stays as its
 * older name, so existing files keep working), and the docs and messages say so.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as metronome from '../../src/index.ts';
import { parseDeclaration } from '../../src/model/declaration.ts';
import { ROOT } from '../support/cli.ts';

test('the package exports clocked(), and it builds the clocked kind (at() is the same builder)', () => {
  const api = metronome as unknown as Record<string, (instant: string) => { kind: string }>;
  assert.equal(typeof api.clocked, 'function', 'clocked() is exported');
  assert.equal(api.clocked!('2030-01-01T09:00:00Z').kind, 'clocked');
  assert.deepEqual(api.clocked!('2030-01-01T09:00:00Z'), metronome.at('2030-01-01T09:00:00Z'));
});

test('messages name the builders crontab, every, solar and clocked', () => {
  const result = parseDeclaration({ name: 'x', task: 't', schedule: 42 }, Date.now());
  assert.equal(result.ok, false);
  const text = JSON.stringify(!result.ok && result.problems);
  assert.match(text, /clocked\(\.\.\.\)/);
  assert.doesNotMatch(text, /\bat\(\.\.\.\)/);
});

test('the docs, the README and the example schedules build one-offs with clocked(...)', () => {
  const files = [
    'README.md',
    ...fs
      .readdirSync(path.join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
    ...fs.readdirSync(path.join(ROOT, 'schedules')).map((f) => `schedules/${f}`),
  ];
  for (const file of files) {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    // The one place that names the older alias says so.
    const uses = text.split('\n').filter((line) => /(?<![\w.])at\(/.test(line) && !/older name/.test(line));
    assert.deepEqual(uses, [], `${file} builds a one-off with at(...)`);
  }
});
