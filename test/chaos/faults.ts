/**
 * Injecting one planned fault into the cluster and healing it after its duration. Each returns a
 * line for the run's log; a fault that finds nothing to hurt (no leader within a few TTLs) is
 * reported as not injected, and the coverage check counts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BeatSlot, Cluster } from './cluster.ts';
import type { FaultStep } from './plan.ts';
import type { RecordTail } from './records.ts';

export interface FaultOutcome {
  step: FaultStep;
  injected: boolean;
  /** Epoch ms when the fault began and when it was healed. */
  startedAt: number;
  healedAt: number;
  detail: string;
}

export async function injectFault(
  cluster: Cluster,
  tail: RecordTail,
  step: FaultStep,
  ttlMs: number,
): Promise<FaultOutcome> {
  const startedAt = Date.now();
  const done = (injected: boolean, detail: string): FaultOutcome => ({
    step,
    injected,
    startedAt,
    healedAt: Date.now(),
    detail,
  });
  switch (step.kind) {
    case 'kill-leader': {
      const leader = await waitForLeader(cluster, ttlMs);
      if (!leader) return done(false, 'no leader to kill');
      cluster.signalBeat(leader.index, 'SIGKILL', 'beat-kill');
      await leader.exited;
      await sleep(step.durationMs);
      cluster.startBeat(leader.index);
      return done(
        true,
        `killed beat ${leader.index} (pid ${leader.pid}), restarted ${step.durationMs} ms later`,
      );
    }
    case 'stop-leader': {
      const leader = await waitForLeader(cluster, ttlMs);
      if (!leader) return done(false, 'no leader to stop');
      cluster.signalBeat(leader.index, 'SIGSTOP', 'beat-stop');
      await sleep(step.durationMs);
      cluster.signalBeat(leader.index, 'SIGCONT', 'beat-cont');
      return done(true, `SIGSTOP of beat ${leader.index} (pid ${leader.pid}) for ${step.durationMs} ms`);
    }
    case 'term-restart': {
      const leader = await waitForLeader(cluster, ttlMs);
      const standby = cluster.beats.find((b) => b.child && b !== leader && !b.stopped);
      const target = step.target === 'standby' ? (standby ?? leader) : (leader ?? standby);
      if (!target) return done(false, 'no beat to stop');
      await cluster.terminateBeat(target.index);
      await sleep(step.durationMs);
      cluster.startBeat(target.index);
      const role = target === leader ? 'the leader' : 'a standby';
      return done(true, `SIGTERM of ${role}, beat ${target.index}; restarted ${step.durationMs} ms later`);
    }
    case 'restart-redis': {
      const server = cluster.redis(step.target);
      await server.shutdownNosave();
      cluster.note('redis-down', `redis ${step.target} (port ${server.port}): shutdown nosave`);
      await sleep(step.durationMs);
      await server.start();
      cluster.note('redis-up', `redis ${step.target} (port ${server.port}) started again, empty`);
      return done(true, `restarted redis ${step.target} (down ${step.durationMs} ms)`);
    }
    case 'terminate-pg': {
      const n = await cluster.terminateBeatConnections();
      cluster.note('pg-terminate', `pg_terminate_backend of ${n} beat connection(s)`);
      return done(n > 0, `terminated ${n} Postgres connection(s) of the beats`);
    }
    case 'cut-broker': {
      await cluster.proxy.down();
      cluster.note('broker-cut', 'the beats lost the broker (proxy down)');
      await sleep(step.durationMs);
      await cluster.proxy.up();
      cluster.note('broker-up', 'the broker is reachable again (proxy up)');
      return done(true, `broker unreachable for the beats for ${step.durationMs} ms`);
    }
    case 'kill-worker': {
      const index = await busyWorker(cluster, tail);
      if (index === undefined) return done(false, 'no worker running');
      const pid = cluster.workers[index]?.child.pid as number;
      const midTask = tail.busyWorkers().has(pid);
      cluster.killWorker(index);
      tail.forgetWorker(pid);
      await sleep(step.durationMs);
      await cluster.startWorker(index);
      return done(true, `kill -9 of worker ${index} (pid ${pid}${midTask ? ', mid-task' : ', idle'})`);
    }
  }
}

/** A worker executing something (looking for up to 3 s), else any running one. */
async function busyWorker(cluster: Cluster, tail: RecordTail): Promise<number | undefined> {
  const running = cluster.workers.flatMap((w, i) => (w ? [i] : []));
  const deadline = Date.now() + 3_000;
  while (Date.now() < deadline) {
    const busy = tail.busyWorkers();
    const found = running.find((i) => busy.has(cluster.workers[i]?.child.pid as number));
    if (found !== undefined) return found;
    await sleep(50);
  }
  return running[0];
}

async function waitForLeader(cluster: Cluster, ttlMs: number): Promise<BeatSlot | undefined> {
  const deadline = Date.now() + 3 * ttlMs + 5_000;
  while (Date.now() < deadline) {
    const leader = await cluster.leader().catch(() => undefined);
    if (leader) return leader;
    await sleep(100);
  }
  return undefined;
}
