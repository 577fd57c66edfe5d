import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DueIndex } from '../../src/beat/due-index.ts';

test('the due index returns exactly the due ids, earliest first, and counts them per second, under random updates and deletes', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({
            op: fc.constant('set' as const),
            id: fc.integer({ min: 1, max: 40 }),
            at: fc.integer({ min: 0, max: 2500 }),
          }),
          fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 40 }) }),
        ),
        { maxLength: 200 },
      ),
      fc.integer({ min: 0, max: 1000 }),
      fc.integer({ min: -1, max: 1000 }),
      (ops, now, after) => {
        const index = new DueIndex();
        const model = new Map<number, number>();
        for (const op of ops) {
          if (op.op === 'set') {
            index.set(op.id, op.at);
            model.set(op.id, op.at);
          } else {
            assert.equal(index.delete(op.id), model.delete(op.id));
          }
        }
        assert.equal(index.size, model.size);
        const expected = [...model.entries()]
          .filter(([, at]) => at <= now)
          .map(([, at]) => at)
          .sort((a, b) => a - b);
        assert.deepEqual(
          index.due(now, 1_000).map((id) => model.get(id)),
          expected,
        );
        assert.deepEqual(
          index.due(now, 1_000, after).map((id) => model.get(id)),
          expected.filter((at) => at > after),
        );
        for (const second of [-1, 0, 1])
          assert.equal(
            index.countInSecond(second),
            [...model.values()].filter((at) => Math.floor(at / 1000) === second).length,
          );
        assert.equal(index.peekTime(), model.size === 0 ? undefined : Math.min(...model.values()));
        assert.ok(index.due(now, 3).length <= 3);
      },
    ),
  );
});
