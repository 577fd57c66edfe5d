/**
 * The declaration file an import writes (src/import/render.ts) names each kind as a hand-written
 * declaration would: a one-off schedule with `clocked(...)`, the kind's one name (docs/schedules.md).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { loadDeclarations } from '../../src/declare/load.ts';
import { validateDeclarations } from '../../src/declare/sync.ts';
import type { ImportedEntry } from '../../src/import/entry.ts';
import { renderDeclarations } from '../../src/import/render.ts';
import { declarationDir } from '../support/declarations.ts';

const decl = declarationDir();
after(() => decl.cleanup());

const LAUNCH: ImportedEntry = {
  name: 'launch',
  origin: 'periodic task "launch" (id 7)',
  declaration: {
    name: 'launch',
    task: 'marketing.launch',
    schedule: { kind: 'clocked', runAt: '2099-03-20T09:00:00.000Z' },
  },
  notes: [],
  lastRunAt: null,
  totalRuns: 0,
};

test('a one-off schedule is rendered as clocked(...), and the file declares it', async () => {
  const text = renderDeclarations([LAUNCH], { from: 'a test', command: 'beat import', warnings: [] });
  assert.match(text, /^import \{ clocked, defineSchedule \} from 'metronome';$/m, 'imports clocked');
  assert.match(
    text,
    /schedule: clocked\('2099-03-20T09:00:00\.000Z'\),/,
    'declares the one-off with clocked',
  );
  assert.doesNotMatch(text, /\bat\(/, 'the older name at(...) is not written');

  decl.write('celery.ts', text);
  const { found, problems } = await loadDeclarations(decl.rel);
  const { valid, problems: invalid } = validateDeclarations(found, Date.now());
  assert.deepEqual([...problems, ...invalid], [], 'the rendered file loads and validates');
  assert.equal(valid[0]?.fields.kind, 'clocked');
  assert.equal(valid[0]?.fields.runAt?.toISOString(), '2099-03-20T09:00:00.000Z');
});
