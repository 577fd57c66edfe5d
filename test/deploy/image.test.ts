/**
 * The image, built and run on this machine: the repository's Dockerfile built by podman, then `beat`
 * started from the built image's own file system, as the image's own user, with the image's
 * ENTRYPOINT, CMD, WORKDIR and environment, against the test Postgres: `/healthz`, a fire, a clean
 * SIGTERM.
 *
 * No base image can be pulled here, so scripts/image-base.sh assembles the Dockerfile's base
 * (Debian bookworm from Debian's packages, Node.js and npm from the npm registry, the `node` user) and
 * tags it under the base's name; it is cached, so only a machine's first run is slow. podman builds
 * with `--isolation chroot`; it cannot start a container on this machine (setting rlimits is
 * forbidden, the cgroups are hybrid), so the test does what the container runtime would: mounts the
 * image read-only, gives it /dev, /proc and an empty /tmp (the Deployment's emptyDir) in a mount
 * namespace of its own, mounts a schedules folder at /app/schedules, and runs the entry point there
 * with chroot as the image's USER. docs/deploy.md, "The image", says what this proves and what not.
 *
 * Root only (podman's store, mount namespaces, chroot), as CI runs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BeatProcess, eventually } from '../support/beat-process.ts';
import { ROOT } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/pg.ts';
import { freePort } from '../support/redis.ts';

const IMAGE = 'localhost/metronome:image-test';

interface ImageConfig {
  User?: string;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
}

let pg: TestDatabase;
let mounted: string;
let config: ImageConfig;
let work: string;
let schedulesDir: string;

function sh(command: string, args: string[], what: string, timeoutMs = 30 * 60_000): string {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${what}: ${command}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(
      `${what}: ${command} ${args.join(' ')} exited ${result.status}:\n${(result.stdout + result.stderr).slice(-6000)}`,
    );
  return result.stdout.trim();
}

before(async () => {
  assert.equal(
    process.getuid?.(),
    0,
    'the image test needs root: podman builds into its root store, and the image runs in a mount namespace with chroot',
  );
  for (const tool of ['podman', 'unshare', 'chroot'])
    assert.equal(
      spawnSync('sh', ['-c', `command -v ${tool}`]).status,
      0,
      `the image test needs ${tool} (apt-get install -y podman debootstrap)`,
    );
  pg = await createTestDatabase();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-image-'));
  schedulesDir = path.join(work, 'schedules');
  fs.mkdirSync(schedulesDir, { mode: 0o755 });
  fs.chmodSync(work, 0o755);
  sh(path.join(ROOT, 'scripts/image-base.sh'), [], 'assembling the base image');
  sh(
    'podman',
    [
      'build',
      '--isolation',
      'chroot',
      '--pull=never',
      '--layers',
      '--force-rm',
      '--quiet',
      ...npmSettingsMounts(),
      '-t',
      IMAGE,
      ROOT,
    ],
    'building the Dockerfile',
  );
  config = JSON.parse(
    sh('podman', ['image', 'inspect', '--format', '{{json .Config}}', IMAGE], 'inspecting'),
  );
  mounted = sh('podman', ['image', 'mount', IMAGE], 'mounting the image');
});

after(async () => {
  if (mounted) spawnSync('podman', ['image', 'unmount', IMAGE]);
  if (work) fs.rmSync(work, { recursive: true, force: true });
  await pg?.drop();
});

/**
 * The build's npm reaches the registry as this machine's does: its registry and, where one is set,
 * its CA file (a TLS-inspecting proxy's, here), given to the RUN steps as read-only mounts (npm's
 * global config of the base's /usr/local prefix), never written into a layer of the image.
 */
function npmSettingsMounts(): string[] {
  const setting = (key: string) => {
    const value = spawnSync('npm', ['config', 'get', key], { encoding: 'utf8' }).stdout.trim();
    return value && value !== 'null' && value !== 'undefined' ? value : undefined;
  };
  const lines = [`registry=${setting('registry') ?? 'https://registry.npmjs.org/'}`];
  const mounts: string[] = [];
  // npm's own setting, or Node's: with another Node.js first on PATH (CI runs the suite on the
  // image's line), npm reads the global config of that Node's prefix, which has no cafile.
  const cafile = setting('cafile') ?? process.env.NODE_EXTRA_CA_CERTS;
  if (cafile && fs.existsSync(cafile)) {
    lines.push('cafile=/run/metronome-build-ca.crt');
    mounts.push('--volume', `${fs.realpathSync(cafile)}:/run/metronome-build-ca.crt:ro`);
  }
  const npmrc = path.join(work, 'npmrc');
  fs.writeFileSync(npmrc, `${lines.join('\n')}\n`);
  mounts.push('--volume', `${npmrc}:/usr/local/etc/npmrc:ro`);
  return mounts;
}

/** uid, gid and home of a USER (name or uid, and an optional group) in the image's /etc/passwd. */
function imageUser(user: string): { uid: number; gid: number; home: string } {
  const [name, group] = user.split(':');
  const passwd = fs.readFileSync(path.join(mounted, 'etc/passwd'), 'utf8').split('\n');
  const entry = passwd.map((line) => line.split(':')).find((f) => f[0] === name || f[2] === name);
  assert.ok(entry, `user ${name} in the image's /etc/passwd`);
  return { uid: Number(entry[2]), gid: Number(group ?? entry[3]), home: entry[5] || '/' };
}

test('the Dockerfile builds on the active LTS and its image runs beat as its own user: /healthz, a fire, SIGTERM', async () => {
  // What the image is: Node.js of the Dockerfile's line, the packed package, no sources or tests.
  const nodeVersion = sh(
    'chroot',
    [mounted, '/usr/local/bin/node', '--version'],
    'node --version in the image',
  );
  const from = /^FROM node:(\d+)-/m.exec(fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
  assert.ok(nodeVersion.startsWith(`v${from}.`), `the image runs Node.js ${from}, not ${nodeVersion}`);
  const workdir = config.WorkingDir || '/';
  const app = path.join(mounted, workdir);
  assert.ok(
    fs.existsSync(path.join(app, 'node_modules/metronome/dist/index.js')),
    'the package is installed',
  );
  assert.ok(
    !fs.existsSync(path.join(app, 'node_modules/metronome/src')),
    'no TypeScript sources in the image',
  );
  assert.ok(!fs.existsSync(path.join(app, 'node_modules/typescript')), 'production dependencies only');

  assert.ok(config.User, 'the image names a USER');
  const { uid, gid, home } = imageUser(config.User);
  assert.notEqual(uid, 0, 'the image does not run as root');

  // The user's schedules, mounted read-only at WORKDIR/schedules as docs/deploy.md shows.
  fs.writeFileSync(
    path.join(schedulesDir, 'jobs.ts'),
    `import { defineSchedule, every } from 'metronome';
export const ping = defineSchedule({ name: 'image.ping', task: 'image.ping', schedule: every('1s'), catchup: 'skip' });
`,
    { mode: 0o644 },
  );

  const port = await freePort();
  const env = [
    ...(config.Env ?? []),
    `HOME=${home}`, // as a container runtime sets it
    `DATABASE_URL=${pg.url}`,
    `METRONOME_HTTP=127.0.0.1:${port}`,
    'LOG_LEVEL=info',
  ];
  const command = [...(config.Entrypoint ?? []), ...(config.Cmd ?? [])];
  // A mount namespace of the process's own: its mounts go when it exits, whatever happens here.
  const enter = `set -e
root=$1; schedules=$2; shift 2
mount --rbind /dev "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mount --bind "$schedules" "$root${path.posix.join(workdir, 'schedules')}"
mount -o remount,bind,ro "$root${path.posix.join(workdir, 'schedules')}"
exec chroot --userspec=${uid}:${gid} "$root" "$@"`;
  const beat = new BeatProcess(
    'image',
    {},
    {
      argv: [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        'sh',
        '-c',
        enter,
        'enter',
        mounted,
        schedulesDir,
        '/usr/bin/env',
        '-i',
        `--chdir=${workdir}`,
        ...env,
        ...command,
      ],
      cwd: ROOT,
    },
  );
  let failure: unknown;
  try {
    await beat.waitForLog('synced schedules at start', 120_000);
    const status = fs.readFileSync(`/proc/${beat.child.pid}/status`, 'utf8');
    const argv = fs.readFileSync(`/proc/${beat.child.pid}/cmdline`, 'utf8').split('\0');
    assert.deepEqual(
      argv.slice(0, 2),
      command.slice(0, 2),
      'the entry point itself is the process signals go to',
    );
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, 'm'), 'beat runs as the image user');
    const fired = await eventually('a run of image.ping enqueued', 60_000, () =>
      beat.enqueued.find((e) => e.schedule === 'image.ping'),
    );
    assert.match(fired.taskId, /^[0-9a-f-]{36}$/);
    // A start-up that blocked the event loop past its bound (a loaded machine) fails /healthz for
    // that bound (30 s) afterwards, by design: wait that out.
    const health = await eventually('/healthz answering 200', 90_000, async () => {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return response.status === 200 ? response : undefined;
    });
    await health.body?.cancel();
  } catch (error) {
    failure = error;
  }
  const stoppedAt = Date.now();
  const code = await beat.stop(15_000);
  if (failure) throw failure;
  assert.equal(code, 0, 'SIGTERM: exit 0 within the grace period');
  assert.ok(beat.hasLog('released the leader lease', stoppedAt), 'the lease is released on SIGTERM');
});
