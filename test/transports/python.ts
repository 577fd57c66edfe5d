/**
 * Runs Debian's real Python (with python3-celery 5.2.6) as the reference for the encoder's tests: what
 * Python prints is the truth the TypeScript must match. Not a mock.
 */
import { execFileSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

/** Runs `script` with `/usr/bin/python3 -c`, feeding `input` on stdin, and returns stdout. */
export function runPython(script: string, options: { input?: string; args?: string[] } = {}): string {
  try {
    return execFileSync(PYTHON, ['-c', script, ...(options.args ?? [])], {
      input: options.input ?? '',
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      // Debian's packages, not a pyenv shim's interpreter or a virtualenv.
      env: { ...process.env, PYTHONPATH: '', PYTHONIOENCODING: 'utf-8', PYTHONDONTWRITEBYTECODE: '1' },
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${PYTHON} failed: ${e.stderr || e.message}`);
  }
}

/**
 * Sends a list of inputs as JSON lines, runs `body` (Python; it sees `line`, the decoded input, and must
 * set `out`) for each, and returns each output or error. One Python process for the whole batch.
 */
export function pythonMapResults<T>(
  inputs: readonly string[],
  body: string,
  prelude = '',
): Array<{ ok?: T; error?: string }> {
  const script = `
import json, sys
${prelude}
def handle(line):
${body
  .split('\n')
  .map((l) => `    ${l}`)
  .join('\n')}
    return out
for raw in sys.stdin.read().split('\\n'):
    if raw:
        try:
            res = {'ok': handle(raw)}
        except Exception as exc:
            res = {'error': f'{type(exc).__name__}: {exc}'}
        sys.stdout.write(json.dumps(res) + '\\n')
`;
  const stdout = runPython(script, { input: `${inputs.join('\n')}\n` });
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { ok?: T; error?: string });
}

/** {@link pythonMapResults}, throwing on the first input Python failed on. */
export function pythonMap<T>(inputs: readonly string[], body: string, prelude = ''): T[] {
  return pythonMapResults<T>(inputs, body, prelude).map((res, i) => {
    if (res.error !== undefined) throw new Error(`python, input ${i} (${inputs[i]}): ${res.error}`);
    return res.ok as T;
  });
}
