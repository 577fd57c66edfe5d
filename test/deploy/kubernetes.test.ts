/**
 * deploy/kubernetes as a cluster would use it: every manifest validated against Kubernetes' schema
 * (kubernetes-models: validators generated from the Kubernetes OpenAPI spec), the overlays rendered
 * with `kubectl kustomize` where kubectl is installed, and then the base's Deployment played out on
 * this machine — two replicas of the production install (the Dockerfile's install line and entry),
 * each with the container's env as the kubelet builds it (ConfigMap, Secret, downward API with
 * `$(VAR)` expansion) and its own "pod IP" on loopback (127.0.0.2 and .3), probed on the manifests'
 * paths and ports with their timeouts; then SIGTERM to the leader, the manifests' grace period to
 * exit, and the hand-over to the standby checked.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Redis } from 'ioredis';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { BeatProcess, eventually, sleep } from '../support/beat-process.ts';
import { ROOT } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { dockerfileRuntime, productionInstall } from '../support/production-install.ts';

const KUBE = path.join(ROOT, 'deploy/kubernetes');
type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [key: string]: unknown };

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own object type
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

function parseYaml(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  });
}

function validate(manifest: Manifest, where: string): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  assert.ok(Model, `${where}: no schema for ${manifest.apiVersion} ${manifest.kind}`);
  try {
    new Model(manifest).validate();
  } catch (error) {
    assert.fail(
      `${where}: ${manifest.kind} ${manifest.metadata?.name} is invalid: ${(error as Error).message}`,
    );
  }
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(full);
    return entry.name.endsWith('.yaml') && entry.name !== 'kustomization.yaml' ? [full] : [];
  });
}

/** The base as listed in its kustomization.yaml (resources), in order. */
function base(): Manifest[] {
  const kustomization = parseYaml(
    fs.readFileSync(path.join(KUBE, 'base/kustomization.yaml'), 'utf8'),
    'base',
  )[0] as {
    resources: string[];
  } & Manifest;
  return kustomization.resources.flatMap((file) =>
    parseYaml(fs.readFileSync(path.join(KUBE, 'base', file), 'utf8'), file),
  );
}

test('every manifest is valid against the Kubernetes schema', () => {
  const files = yamlFiles(KUBE);
  assert.ok(files.length >= 8, `found ${files.length} manifests`);
  for (const file of files) {
    for (const manifest of parseYaml(fs.readFileSync(file, 'utf8'), file))
      validate(manifest, path.relative(ROOT, file));
  }
});

test('the base and each overlay render with kubectl kustomize into valid objects', (t) => {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  if (kubectl.error) {
    t.skip('kubectl is not installed: overlays not rendered (each manifest file is still validated above)');
    return;
  }
  for (const target of ['base', 'overlays/production', 'overlays/embedded']) {
    const rendered = spawnSync('kubectl', ['kustomize', path.join(KUBE, target)], { encoding: 'utf8' });
    assert.equal(rendered.status, 0, `kubectl kustomize ${target}: ${rendered.stderr}`);
    const manifests = parseYaml(rendered.stdout, target);
    for (const manifest of manifests) validate(manifest, target);
    const deployment = manifests.find((m) => m.kind === 'Deployment') as unknown as Deployment;
    if (target === 'overlays/embedded') {
      assert.equal(deployment.spec?.replicas, 1);
      assert.equal(deployment.spec?.strategy?.type, 'Recreate');
      assert.ok(!manifests.some((m) => m.kind === 'Job' || m.kind === 'PodDisruptionBudget'));
    } else {
      assert.equal(deployment.spec?.replicas, 2);
    }
  }
});

// --- The Deployment, played out ---

type Container = NonNullable<NonNullable<Deployment['spec']>['template']['spec']>['containers'][number];
type Probe = NonNullable<Container['livenessProbe']>;

/** The container's environment as the kubelet builds it: envFrom first, then env with $(VAR) expansion. */
function containerEnv(
  container: Container,
  sources: Manifest[],
  podIp: string,
  secretValues: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const name = from.configMapRef?.name ?? from.secretRef?.name;
    const source = sources.find((m) => m.metadata.name === name);
    assert.ok(source, `envFrom names ${name}, which the base does not define`);
    const data = (source.kind === 'Secret' ? source.stringData : source.data) as Record<string, string>;
    for (const [key, value] of Object.entries(data)) {
      // The Secret's values are placeholders: an operator fills them, as this test does.
      env[key] = source.kind === 'Secret' ? (secretValues[key] ?? value) : value;
    }
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.fieldRef?.fieldPath === 'status.podIP') env[variable.name] = podIp;
    else if (variable.value !== undefined)
      env[variable.name] = variable.value.replace(/\$\((\w+)\)/g, (whole, key: string) => env[key] ?? whole);
    else assert.fail(`env ${variable.name}: a source this test does not model`);
  }
  return env;
}

/** One probe the way the kubelet runs it: GET on the pod IP and the (named) port, within the timeout. */
async function probe(
  container: Container,
  spec: Probe,
  podIp: string,
): Promise<{ ok: boolean; body: string }> {
  const get = spec.httpGet!;
  const port =
    typeof get.port === 'number'
      ? get.port
      : container.ports?.find((p) => p.name === get.port)?.containerPort;
  assert.ok(port, `probe port ${get.port} is not a container port`);
  try {
    const response = await fetch(`http://${podIp}:${port}${get.path}`, {
      signal: AbortSignal.timeout((spec.timeoutSeconds ?? 1) * 1000),
    });
    return { ok: response.status >= 200 && response.status < 400, body: await response.text() };
  } catch (error) {
    return { ok: false, body: String(error) };
  }
}

/** Probe every periodSeconds until it succeeds, failing after failureThreshold failures. */
async function untilProbeSucceeds(container: Container, spec: Probe, podIp: string, what: string) {
  const attempts = spec.failureThreshold ?? 3;
  let last = { ok: false, body: '' };
  for (let i = 0; i < attempts; i++) {
    last = await probe(container, spec, podIp);
    if (last.ok) return last;
    await sleep((spec.periodSeconds ?? 10) * 1000);
  }
  assert.fail(`${what}: ${spec.httpGet?.path} failed ${attempts} times; last: ${last.body}`);
}

let pg: TestDatabase;
let install: { dir: string; cleanup(): void };
let redis: Redis;
const prefix = `k8s-${randomBytes(4).toString('hex')}:`;

before(async () => {
  pg = await createTestDatabase();
  install = productionInstall();
  redis = new Redis('redis://127.0.0.1:6379/0', { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((error: Error) => {
    throw new Error(`this test needs Redis at 127.0.0.1:6379: ${error.message}`);
  });
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
  // What an operator puts in the Secret, pointing at this machine's servers (and a key prefix of
  // this test's own on the shared Redis, as the workers' global_keyprefix).
  const secretValues = {
    DATABASE_URL: pg.url,
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
      await untilProbeSucceeds(container, container.readinessProbe!, r.podIp, `${r.process.label} readiness`);
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
  }
});
