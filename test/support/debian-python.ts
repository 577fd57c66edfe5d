/**
 * Debian's Python (/usr/bin/python3, not a pyenv shim or a virtualenv) with the packages a test needs.
 * When a module is missing, the packages are installed if this can (root on Debian); otherwise the
 * test fails saying what to install — it never skips.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

const ready = new Set<string>();

function probe(modules: string[]): { ok: boolean; error: string } {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  return {
    ok: r.status === 0,
    error: (r.stderr || String(r.error ?? '')).trim().split('\n').slice(-1)[0] ?? '',
  };
}

export function requirePythonModules(need: { modules: string[]; packages: string[]; why: string }): void {
  const key = need.modules.join(',');
  if (ready.has(key)) return;
  let result = probe(need.modules);
  if (!result.ok && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    spawnSync('apt-get', ['install', '-y', '-qq', ...need.packages], {
      stdio: 'ignore',
      env,
      timeout: 600_000,
    });
    result = probe(need.modules);
  }
  if (!result.ok) {
    throw new Error(
      `${need.why}: ${PYTHON} cannot import ${need.modules.join(', ')} (${result.error}). ` +
        `Install them with: sudo apt-get install ${need.packages.join(' ')} (Debian/Ubuntu; .ci/run does it)`,
    );
  }
  ready.add(key);
}
