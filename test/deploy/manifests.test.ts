/**
 * deploy/kubernetes is valid: every manifest against Kubernetes' schema (kubernetes-models:
 * validators generated from the Kubernetes OpenAPI document), and the base and overlays rendered
 * with `kubectl kustomize` where kubectl is installed. test/production/install.test.ts runs the base's
 * Deployment on this machine.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ROOT } from '../support/cli.ts';
import { KUBE, type Manifest, parseYaml } from '../support/kubernetes.ts';

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
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

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

test('every manifest is valid against the Kubernetes schema', () => {
  const files = yamlFiles(KUBE);
  assert.ok(files.length >= 8, `found ${files.length} manifests`);
  for (const file of files) {
    for (const manifest of parseYaml(fs.readFileSync(file, 'utf8'), file))
      validate(manifest, path.relative(ROOT, file));
  }
});

test('the base and each overlay render with kubectl kustomize into valid objects', () => {
  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  // A missing kubectl fails the test, naming it (never a silent skip). Debian's kubernetes-client
  // (1.20) is too old for these kustomizations (`labels`, inline patches): kubectl 1.21 or later.
  assert.ok(
    !kubectl.error,
    "these tests need kubectl 1.21 or later on PATH (kubectl kustomize renders the overlays); Debian's kubernetes-client 1.20 is too old",
  );
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

test('the alerting rules name only series the beat exports, and alert on no leader and on breaches', async () => {
  const file = path.join(KUBE, 'overlays/production/prometheusrule.yaml');
  const [rule] = parseYaml(fs.readFileSync(file, 'utf8'), file) as unknown as PrometheusRule[];
  const rules = (rule?.spec?.groups?.flatMap((g) => g.rules) ?? []).filter((r) => r !== undefined);
  const names = rules.map((r) => r.alert);
  for (const wanted of ['MetronomeNoLeader', 'MetronomeDeadlineBreach', 'MetronomeAlertsUndelivered'])
    assert.ok(names.includes(wanted), `${wanted} in ${names.join(', ')}`);
  const { BeatMetrics } = await import('../../src/beat/metrics.ts');
  const exported = new Set((await new BeatMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
  for (const r of rules) {
    for (const series of String(r.expr).match(/metronome_[a-z_]+/g) ?? [])
      assert.ok(exported.has(series), `${r.alert}: ${series} is not a metric the beat exports`);
  }
});
