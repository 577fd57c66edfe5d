/**
 * Metronome as a user installs it: `npm pack` of this repository, installed into an empty folder by
 * the very RUN line of the Dockerfile's runtime stage (production dependencies only, from the npm
 * registry; npm's cache makes repeats fast), to be started by the Dockerfile's ENTRYPOINT and CMD. No
 * container engine runs here, so this is how what the image does gets tested.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT } from './cli.ts';

export interface RuntimeStage {
  /** The shell command of the RUN line that installs the package (its --mount flags dropped). */
  install: string;
  /** The tarball path that RUN line installs from, replaced by the real one here. */
  tarballPath: string;
  workdir: string;
  entrypoint: string[];
  cmd: string[];
}

/** The runtime stage of the Dockerfile: its install command, WORKDIR, ENTRYPOINT and CMD. */
export function dockerfileRuntime(): RuntimeStage {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const stage = text.split(/^FROM /m).find((s) => / AS runtime\s*$/m.test(s.split('\n')[0]!));
  if (!stage) throw new Error('Dockerfile: no stage named runtime');
  const lines = stage.split('\n').map((l) => l.trim());
  const instruction = (name: string) =>
    lines.filter((l) => l.startsWith(`${name} `)).map((l) => l.slice(name.length + 1));
  const installs = instruction('RUN').filter((r) => r.includes('npm install'));
  if (installs.length !== 1)
    throw new Error(`Dockerfile runtime stage: expected one npm install RUN line, found ${installs.length}`);
  const install = installs[0]!.replace(/^(--mount=\S+\s+)+/, '');
  const tarballPath = /(\/\S+\.tgz)/.exec(install)?.[1];
  if (!tarballPath) throw new Error(`Dockerfile: the install line names no tarball: ${install}`);
  const json = (name: string) => JSON.parse(instruction(name).at(-1) ?? '[]') as string[];
  return {
    install,
    tarballPath,
    workdir: instruction('WORKDIR').at(-1) ?? '/',
    entrypoint: json('ENTRYPOINT'),
    cmd: json('CMD'),
  };
}

/** `npm pack` of the built repository (npm test builds dist/ first) into `destination`. */
export function packTarball(destination: string): string {
  if (!fs.existsSync(path.join(ROOT, 'dist/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [packed] = JSON.parse(out) as Array<{ filename: string }>;
  return path.join(destination, packed!.filename);
}

/** Run the Dockerfile's install line in `dir` (an empty folder), on `tarball`. */
export function installLikeTheImage(dir: string, tarball: string): void {
  const stage = dockerfileRuntime();
  const command = stage.install.replaceAll(stage.tarballPath, JSON.stringify(tarball));
  const result = spawnSync('sh', ['-c', command], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  if (result.status !== 0) {
    throw new Error(
      `the Dockerfile's install (${command}) failed in ${dir} (the npm registry must be reachable):\n${result.stderr.slice(-3000)}`,
    );
  }
}

/** A fresh production install in an empty temporary folder; `cleanup()` removes it. */
export function productionInstall(): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-consumer-'));
  const packs = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-pack-'));
  try {
    installLikeTheImage(dir, packTarball(packs));
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    fs.rmSync(packs, { recursive: true, force: true });
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
