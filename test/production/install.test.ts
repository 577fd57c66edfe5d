/**
 * The production install, used two ways — one install (slow: the npm registry) for both tests.
 *
 * 1. The README's user journey in a project of the user's own: an empty folder, `npm init -y`, the
 * packed package installed with production dependencies only — by the Dockerfile's own install
 * line — then schedules/jobs.ts and a tsconfig.json as a user writes them, type-checked with the
 * user's tsc; `npx beat sync --dry-run`, `npx beat next`, and the image's ENTRYPOINT + CMD run
 * against Postgres until a run is enqueued. Needs the npm registry (npm's cache makes repeats fast).
 *
 * 2. The base Kubernetes Deployment played out on this machine: two replicas of that install, each
 * with the container's env as the kubelet builds it (ConfigMap, Secret, downward API with `$(VAR)`
 * expansion) and its own "pod IP" on loopback (127.0.0.2 and .3), probed on the manifests' paths and
 * ports with their timeouts; SIGTERM to the leader, the manifests' grace period to exit, and the
 * hand-over to the standby checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { base, containerEnv, probe, untilProbeSucceeds } from '../support/kubernetes.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { dockerfileRuntime, productionInstall } from '../support/production-install.ts';

let pg: TestDatabase;
let install: { dir: string; cleanup(): void };
let redis: Redis;
const prefix = `k8s-${randomBytes(4).toString('hex')}:`;

before(async () => {
  pg = await createTestDatabase();
  redis = new Redis('redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: Error) => {
    throw new Error(`these tests need Redis at 127.0.0.1:6379: ${error.message}`);
  });
  install = productionInstall();
});
after(async () => {
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  }
  install?.cleanup();
  await pg?.drop();
});

const JOBS = `import { crontab, defineSchedule, every } from 'metronome';

export const ping = defineSchedule({
  name: 'ops.ping',
  task: 'ops.ping',
  schedule: every('2s'),
  catchup: 'skip',
});

export const nightly = defineSchedule({
  name: 'reports.nightly',
  task: 'reports.nightly',
  schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
  kwargs: { format: 'pdf' },
});

// The types are real: a wrong field is a compile error (an unused expect-error would be one too).
// Not exported, so never synced.
// @ts-expect-error priority is a number
const typo = defineSchedule({ name: 'typo', task: 'typo', schedule: every('1m'), priority: 'high' });
void typo;
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    noEmit: true,
    // What `tsc --init` writes: the package's client types reach postgres.js's and Drizzle's, which
    // need Node's types (@types/node) when their declarations are checked (docs/deploy.md).
    skipLibCheck: true,
  },
  include: ['schedules'],
};

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd: install.dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a user project installs the package, type-checks its schedules and runs beat', async () => {
  const dir = install.dir;
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules/metronome/package.json'), 'utf8'));
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/metronome/src')), 'no TypeScript sources shipped');
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/metronome/test')), 'no tests shipped');
  assert.ok(!fs.existsSync(path.join(dir, 'node_modules/typescript')), 'production dependencies only');
  for (const file of ['src/connection.js', 'cjs/src/connection.js'])
    assert.match(
      fs.readFileSync(path.join(dir, 'node_modules/postgres', file), 'utf8'),
      /Metronome's patch/,
      `the install patches the Postgres driver (${file})`,
    );

  fs.mkdirSync(path.join(dir, 'schedules'));
  fs.writeFileSync(path.join(dir, 'schedules/jobs.ts'), JOBS);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
  const typescript = run('npm', ['install', '--save-dev', '--no-audit', '--no-fund', 'typescript@5']);
  assert.equal(typescript.code, 0, typescript.stderr);
  const tsc = run('npx', ['tsc', '-p', '.']);
  assert.equal(tsc.code, 0, `the user's tsc: ${tsc.stdout}${tsc.stderr}`);

  const version = run('npx', ['beat', '--version']);
  assert.equal(version.stdout.trim(), pkg.version);

  const env = { DATABASE_URL: pg.url, LOG_LEVEL: 'warn' };
  const dry = run('npx', ['beat', 'sync', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /create\s+ops\.ping\s+\(schedules\/jobs\.ts\)/);
  assert.match(dry.stdout, /Dry run: nothing written/);

  const next = run('npx', [
    '--no',
    'beat',
    'next',
    '30 2 * * *',
    '--tz',
    'Europe/Berlin',
    '--after',
    '2026-03-27T00:00:00Z',
    '--count',
    '3',
  ]);
  assert.equal(next.code, 0, next.stderr);
  assert.match(next.stdout, /2026-03-29 03:30:00 \+02:00\s+shifted/);

  // The image's entry, in the image's working directory: ENTRYPOINT + CMD.
  const stage = dockerfileRuntime();
  const beat = new BeatProcess(
    'consumer',
    { ...env, LOG_LEVEL: 'info' },
    {
      argv: [...stage.entrypoint, ...stage.cmd],
      cwd: dir,
    },
  );
  try {
    await beat.waitForLog('synced schedules at start', 60_000);
    const ping = await eventually('a run of ops.ping enqueued', 60_000, () =>
      beat.enqueued.find((e) => e.schedule === 'ops.ping'),
    );
    assert.match(ping.taskId, /^[0-9a-f-]{36}$/);
  } finally {
    assert.equal(await beat.stop(), 0);
  }
});

test('two replicas with the manifests env: probes, one leader and a ready standby, SIGTERM hand-over', async () => {
  const manifests = base();
  const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as Deployment;
  const pod = deployment.spec!.template.spec!;
  const container = pod.containers[0]!;
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  assert.equal(deployment.spec!.replicas, 2);
  assert.ok(
    container.startupProbe && container.livenessProbe && container.readinessProbe,
    'all three probes',
  );

  // Declarations baked into the image (or mounted) at WORKDIR/schedules.
  const schedule = `k8s.tick.${randomBytes(3).toString('hex')}`;
  fs.mkdirSync(path.join(install.dir, 'schedules'), { recursive: true });
  fs.writeFileSync(
    path.join(install.dir, 'schedules/jobs.ts'),
    `import { defineSchedule, every } from 'metronome';
export const tick = defineSchedule({ name: '${schedule}', task: 'tasks.tick', schedule: every('1s'), overlap: 'allow' });
`,
  );
  // A database of its own: the first test's schedules are not part of this one.
  const k8sDb = await createTestDatabase();
  // What an operator puts in the Secret, pointing at this machine's servers (and a key prefix of
  // this test's own on the shared Redis, as the workers' global_keyprefix).
  const secretValues = {
    DATABASE_URL: k8sDb.url,
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    BROKER_URL: 'redis://127.0.0.1:6379/0',
    RESULT_BACKEND: 'redis://127.0.0.1:6379/0',
  };
  const stage = dockerfileRuntime();
  const argv = [...stage.entrypoint, ...(container.args ?? stage.cmd)];

  const replicas = ['127.0.0.2', '127.0.0.3'].map((podIp, i) => {
    const env = containerEnv(container, manifests, podIp, secretValues);
    assert.equal(env.METRONOME_HTTP, `${podIp}:9464`, 'listens on the pod IP');
    return {
      podIp,
      process: new BeatProcess(
        `replica-${i}`,
        { ...env, CELERY_GLOBAL_KEYPREFIX: prefix, METRONOME_LOCK_PREFIX: `${prefix}runlock:` },
        { argv, cwd: install.dir },
      ),
    };
  });
  const queue = `${prefix}celery`;
  try {
    for (const r of replicas) {
      await untilProbeSucceeds(container, container.startupProbe!, r.podIp, `${r.process.label} startup`);
      // A failing readiness probe restarts nothing (the kubelet keeps probing; the pod is just not
      // ready yet): wait for it, with a bound a loaded machine's start-up fits in.
      await eventually(
        `${r.process.label} ready on ${container.readinessProbe!.httpGet?.path}`,
        120_000,
        async () => ((await probe(container, container.readinessProbe!, r.podIp)).ok ? true : undefined),
      );
      assert.ok((await probe(container, container.livenessProbe!, r.podIp)).ok, 'live');
    }
    const roles = async () =>
      Promise.all(
        replicas.map(
          async (r) => JSON.parse((await probe(container, container.readinessProbe!, r.podIp)).body).role,
        ),
      );
    await eventually('one leader and one standby, both ready', 30_000, async () => {
      const now = await roles();
      return now.includes('leader') && now.includes('standby');
    });
    await eventually('runs enqueued on the broker', 30_000, async () => (await redis.llen(queue)) >= 2);

    const leaderIndex = (await roles()).indexOf('leader');
    const leader = replicas[leaderIndex]!;
    const standby = replicas[1 - leaderIndex]!;
    const stoppedAt = Date.now();
    leader.process.signal('SIGTERM');
    const code = await Promise.race([
      leader.process.exited,
      sleep(grace * 1000).then(() => 'timeout' as const),
    ]);
    assert.equal(code, 0, `the leader exits 0 within the grace period (${grace}s)`);
    const handedOver = await standby.process.waitForLog('leading', 5_000, stoppedAt);
    assert.ok(
      handedOver.receivedAt - stoppedAt < 3_000,
      `hand-over took ${handedOver.receivedAt - stoppedAt} ms`,
    );
    assert.ok(leader.process.hasLog('released the leader lease'), 'the old leader released its lease');
    const before = await redis.llen(queue);
    await eventually('the new leader enqueues', 10_000, async () => (await redis.llen(queue)) > before);
    assert.equal(
      JSON.parse((await probe(container, container.readinessProbe!, standby.podIp)).body).role,
      'leader',
    );

    // Nothing sent twice across the hand-over.
    const ids = (await redis.lrange(queue, 0, -1)).map((m) => JSON.parse(m).headers.id as string);
    assert.equal(new Set(ids).size, ids.length, 'each task id once');
  } finally {
    for (const r of replicas) await r.process.stop(grace * 1000);
    await k8sDb.drop();
  }
});
