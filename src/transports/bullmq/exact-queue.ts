/**
 * A BullMQ Queue whose jobs store their data with every number as the database holds it. BullMQ
 * writes `job.data` with JSON.stringify, which would turn an exact number read from a row
 * (src/model/json.ts: `1234567890123456789`, `1.0`) into the nearest double; this Job subclass writes
 * the same JSON with those numbers verbatim. Queue's `Job` getter is BullMQ's documented way to
 * use a Job subclass.
 */
import { Job, Queue } from 'bullmq';
import { stringifyJson } from '../../model/json.ts';

class ExactJob extends Job {
  override asJSON(): ReturnType<Job['asJSON']> {
    return { ...super.asJSON(), data: stringifyJson(this.data ?? {}) };
  }
}

export class ExactQueue extends Queue {
  protected override get Job(): typeof Job {
    // (Job's constructor is generic over the job name; ExactJob's is not: the same class at runtime.)
    return ExactJob as unknown as typeof Job;
  }
}
