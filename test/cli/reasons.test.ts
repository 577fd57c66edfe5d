/** A pause reason is one line of printable text: format and control characters are refused (exit 2). */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { beat } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';

let pg: TestDatabase;
before(async () => {
  pg = await createTestDatabase();
});
after(async () => {
  await pg?.drop();
});

test('beat pause --reason refuses bidi overrides, zero-width characters, BEL and newlines', async () => {
  const env = { DATABASE_URL: pg.url };
  const added = await beat(['add', 'ops.ping', '--task', 'ops.ping', '--every', '1h'], env);
  assert.equal(added.code, 0, added.stderr);
  for (const ch of ['\u202e', '\u200b', '\u0007', '\n', '\u2066', '\ufeff']) {
    const paused = await beat(['pause', 'ops.ping', '--reason', `incident${ch}42`], env);
    assert.equal(paused.code, 2, `a reason with U+${ch.charCodeAt(0).toString(16)}: ${paused.stderr}`);
    assert.match(paused.stderr, /reason/);
  }
  const [row] = await pg.sql`select paused_at from metronome.schedules where name = 'ops.ping'`;
  assert.equal(row?.paused_at, null, 'nothing was paused');
  const ok = await beat(['pause', 'ops.ping', '--reason', 'incident 42: Zahlungsanbieter gestört 🔥'], env);
  assert.equal(ok.code, 0, ok.stderr);
});
