/**
 * The `log` transport of the embedded default: prints one JSON line per enqueued run on stdout and
 * reports every run finished at once, so overlap policies never hold a run back locally.
 */
import { stringifyJson } from '../model/json.ts';
import type { EnqueueItem, EnqueueResult, RunState, Transport } from './transport.ts';

export class LogTransport implements Transport {
  readonly name = 'log';
  readonly finishedOnEnqueue = true;
  constructor(private readonly write: (line: string) => void = (line) => process.stdout.write(line)) {}

  async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    for (const item of batch) {
      this.write(
        `${stringifyJson({
          enqueued: item.task,
          schedule: item.scheduleName,
          taskId: item.taskId,
          scheduledFor: new Date(item.scheduledFor).toISOString(),
          fireAt: new Date(item.fireAt).toISOString(),
          args: item.args,
          kwargs: item.kwargs,
          queue: item.queue,
          manual: item.manual || undefined,
        })}\n`,
      );
    }
    return batch.map((item) => ({ taskId: item.taskId, ok: true as const }));
  }

  async status(taskIds: string[]): Promise<Map<string, RunState>> {
    return new Map(taskIds.map((id) => [id, 'succeeded' as RunState]));
  }

  async close(): Promise<void> {}
}
