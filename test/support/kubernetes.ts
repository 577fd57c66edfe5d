/**
 * Reading deploy/kubernetes the way a cluster does: the YAML documents, the base as its
 * kustomization lists it, a container's environment as the kubelet builds it, and HTTP probes run
 * as the kubelet runs them.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { parseAllDocuments } from 'yaml';
import { sleep } from './beat-process.ts';
import { ROOT } from './cli.ts';

export const KUBE = path.join(ROOT, 'deploy/kubernetes');
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [key: string]: unknown;
};

export function parseYaml(text: string, where: string): Manifest[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  });
}

/** The base as listed in its kustomization.yaml (resources), in order. */
export function base(): Manifest[] {
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

export type Container = NonNullable<
  NonNullable<Deployment['spec']>['template']['spec']
>['containers'][number];
export type Probe = NonNullable<Container['livenessProbe']>;

/** The container's environment as the kubelet builds it: envFrom first, then env with $(VAR) expansion. */
export function containerEnv(
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
export async function probe(
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
export async function untilProbeSucceeds(container: Container, spec: Probe, podIp: string, what: string) {
  const attempts = spec.failureThreshold ?? 3;
  let last = { ok: false, body: '' };
  for (let i = 0; i < attempts; i++) {
    last = await probe(container, spec, podIp);
    if (last.ok) return last;
    await sleep((spec.periodSeconds ?? 10) * 1000);
  }
  assert.fail(`${what}: ${spec.httpGet?.path} failed ${attempts} times; last: ${last.body}`);
}
