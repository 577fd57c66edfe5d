/**
 * Names that look alike must not be two schedules, and a custom header must not take the place of
 * one the scheduler writes: every Unicode format (Cf) and control (Cc) character, the line and
 * paragraph separators, and every reserved Celery header are refused wherever a schedule is checked
 * (a declaration, `beat add`, sync and the API go through parseDeclaration; the row loader through
 * validateRecord), with a message naming the field and the fix.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDeclaration } from '../../src/model/declaration.ts';
import { RESERVED_HEADER_NAMES as MODEL_RESERVED } from '../../src/model/headers.ts';
import { NO_CALENDARS, validateRecord } from '../../src/model/validate.ts';
import { PROTOCOL_HEADER_KEYS, SCHEDULER_HEADER_KEYS } from '../../src/transports/celery/message.ts';
import { scheduleRow } from '../support/rows.ts';

const NOW = Date.UTC(2026, 0, 1);
const RESERVED_HEADER_NAMES = [...PROTOCOL_HEADER_KEYS, ...SCHEDULER_HEADER_KEYS];

/** One of each kind: zero-width, bidi, invisible operators, tags, soft hyphen, BOM, controls. */
const INVISIBLE = [
  '\u200b', // zero-width space
  '\u200c', // zero-width non-joiner
  '\u200d', // zero-width joiner
  '\u2060', // word joiner
  '\u2062', // invisible times
  '\ufeff', // byte order mark
  '\u00ad', // soft hyphen
  '\u202e', // right-to-left override
  '\u2067', // right-to-left isolate
  '\u061c', // Arabic letter mark
  '\u180e', // Mongolian vowel separator
  '\u{e0041}', // tag latin capital A
  '\u{1d173}', // musical symbol begin beam
  '\u0007', // BEL
  '\u0085', // next line
  '\u2028', // line separator
  '\n',
];
const hex = (ch: string) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

const declaration = (patch: object) => ({
  name: 'reports.nightly',
  task: 'reports.nightly',
  schedule: { kind: 'interval', every: '1h' },
  ...patch,
});

test('a declaration refuses every format and control character in its name, task and queue', () => {
  for (const ch of INVISIBLE) {
    for (const field of ['name', 'task', 'queue', 'routingKey']) {
      const result = parseDeclaration(declaration({ [field]: `reports${ch}nightly` }), NOW);
      assert.equal(result.ok, false, `${field} with ${hex(ch)} was accepted`);
      if (result.ok) continue;
      assert.ok(
        result.problems.some((p) => p.field === field),
        `${field} with ${hex(ch)}: ${JSON.stringify(result.problems)}`,
      );
    }
  }
});

test('the row loader refuses every format and control character in a row name', () => {
  for (const ch of INVISIBLE) {
    const check = validateRecord(scheduleRow({ name: `row${ch}` }), NOW, NO_CALENDARS);
    assert.equal(check.ok, false, `a row named with ${hex(ch)} was loaded`);
    if (!check.ok) assert.equal(check.problem.column, 'name');
  }
});

test('the printable names people use are accepted: accents, CJK, emoji, spaces', () => {
  for (const name of ['café.täglich', '日報.夜間', 'reports 🚀 nightly', 'отчёт.ночь', 'a-b_c:d/e']) {
    const result = parseDeclaration(declaration({ name }), NOW);
    assert.equal(result.ok, true, `${name}: ${JSON.stringify(!result.ok && result.problems)}`);
  }
});

test('a declaration (beat add, sync, the API) refuses a reserved header, naming it and the fix', () => {
  for (const header of RESERVED_HEADER_NAMES) {
    const result = parseDeclaration(declaration({ headers: { [header]: 'x', 'x-team': 'ops' } }), NOW);
    assert.equal(result.ok, false, `headers.${header} was accepted`);
    if (result.ok) continue;
    const problem = result.problems.find((p) => p.field === `headers.${header}`);
    assert.ok(problem, `headers.${header}: ${JSON.stringify(result.problems)}`);
    assert.match(problem.reason, /sets itself/);
    assert.match(problem.reason, /rename/);
  }
  assert.equal(parseDeclaration(declaration({ headers: { 'x-team': 'ops' } }), NOW).ok, true);
});

test('the row loader refuses a reserved header (a row written with SQL)', () => {
  for (const header of RESERVED_HEADER_NAMES) {
    const check = validateRecord(scheduleRow({ headers: { [header]: 'x' } }), NOW, NO_CALENDARS);
    assert.equal(check.ok, false, `a row with headers.${header} was loaded`);
    if (!check.ok) {
      assert.equal(check.problem.column, `headers.${header}`);
      assert.match(check.reason, /sets itself/);
    }
  }
});

test('the model reserves exactly the headers the Celery message writes itself', () => {
  assert.deepEqual([...MODEL_RESERVED].sort(), [...RESERVED_HEADER_NAMES].sort());
});
