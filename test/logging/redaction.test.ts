/** Log redaction: passwords never reach a log line, and the rest of a URL (an address) still does. */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { log: createLogger({ destination }), lines };
}

test('a listen address is printed as it is; a password in a URL is masked, the rest kept', () => {
  const { log, lines } = capture();
  log.info({ url: 'http://10.1.2.3:9464' }, 'serving /healthz, /readyz and /metrics');
  log.info({ url: 'postgres://beat:s3cret@db:5432/metronome', databaseUrl: 'postgres://u:pw@h/d' }, 'x');
  log.info({ password: 's3cret', nested: { password: 'p', url: 'redis://:pw@r:6379/0' } }, 'y');
  assert.equal(lines[0]!.url, 'http://10.1.2.3:9464');
  assert.equal(lines[1]!.url, 'postgres://beat:***@db:5432/metronome');
  assert.equal(lines[1]!.databaseUrl, 'postgres://u:***@h/d');
  assert.equal(lines[2]!.password, '***');
  assert.deepEqual(lines[2]!.nested, { password: '***', url: 'redis://:***@r:6379/0' });
  assert.ok(!JSON.stringify(lines).includes('s3cret') && !JSON.stringify(lines).includes(':pw@'));
});
