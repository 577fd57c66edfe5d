/**
 * A real Celery worker (Debian's python3-celery, run with /usr/bin/python3) for the transport tests.
 * Its tasks append one JSON line per start and per end to a file: the test asserts from what the
 * worker actually executed. When /usr/bin/python3 cannot import celery, redis and cryptography, the
 * setup installs python3-celery, python3-redis and python3-cryptography if it can (root on Debian), and otherwise fails saying what to
 * install — it never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PYTHON, requirePythonModules } from './debian-python.ts';

export { PYTHON };

/** Make sure /usr/bin/python3 has Celery and redis-py; install them on Debian as root, else fail. */
export function requireCelery(): void {
  requirePythonModules({
    modules: ['celery', 'redis', 'kombu', 'cryptography'],
    packages: ['python3-celery', 'python3-redis', 'python3-cryptography'],
    why: 'these tests need a real Celery worker',
  });
}

const APP = String.raw`
import json, os, threading, time
from celery import Celery

app = Celery('mtasks')
app.conf.broker_url = os.environ['MT_BROKER']
if os.environ.get('MT_BACKEND'):
    app.conf.result_backend = os.environ['MT_BACKEND']
app.conf.task_track_started = os.environ.get('MT_TRACK_STARTED', '1') == '1'
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
app.conf.result_expires = 3600
app.conf.accept_content = ['json']
if os.environ.get('MT_MAX_PRIORITY'):
    app.conf.task_queue_max_priority = int(os.environ['MT_MAX_PRIORITY'])
if os.environ.get('MT_KEYPREFIX'):
    app.conf.broker_transport_options = {'global_keyprefix': os.environ['MT_KEYPREFIX']}
if os.environ.get('MT_SECURITY_KEY'):
    app.conf.update(security_key=os.environ['MT_SECURITY_KEY'], security_certificate=os.environ['MT_SECURITY_CERT'],
                    security_cert_store=os.environ['MT_SECURITY_STORE'], task_serializer='auth',
                    accept_content=['auth'], result_accept_content=['json'])
    app.setup_security()

RECORD = os.environ['MT_RECORD']
_lock = threading.Lock()

def _write(entry):
    line = (json.dumps(entry, default=repr) + '\n').encode()
    with _lock:
        fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

def _run(task, args, kwargs):
    t = time.time()
    req = task.request
    di = req.delivery_info or {}
    _write({'event': 'start', 't': t, 'id': req.id, 'task': task.name, 'args': list(args), 'kwargs': kwargs,
            'priority': di.get('priority'), 'routing_key': di.get('routing_key'), 'exchange': di.get('exchange'),
            'periodic_task_name': getattr(req, 'periodic_task_name', None),
            'scheduled_for': getattr(req, 'scheduled_for', None), 'tenant': getattr(req, 'tenant', None),
            'exact': getattr(req, 'exact', None),
            'timelimit': getattr(req, 'timelimit', None), 'origin': getattr(req, 'origin', None),
            'hostname': req.hostname, 'pid': os.getpid()})
    if kwargs.get('sleep'):
        time.sleep(kwargs['sleep'])
    _write({'event': 'end', 't': time.time(), 'id': req.id, 'task': task.name})
    return 'ok'

def _make(name):
    @app.task(bind=True, name=name)
    def task(self, *args, **kwargs):
        return _run(self, args, kwargs)
    return task

for _name in ['tasks.record', 'reports.daily', 'billing.invoice']:
    _make(_name)
`;

export interface WorkerRecord {
  event: 'start' | 'end';
  /** Epoch seconds (Python time.time()). */
  t: number;
  id: string;
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  priority?: number | null;
  routing_key?: string | null;
  periodic_task_name?: string | null;
  scheduled_for?: string | null;
  tenant?: unknown;
  /** The custom header `exact`, as the task's request saw it. */
  exact?: unknown;
  timelimit?: unknown;
  origin?: string | null;
  pid?: number;
}

export interface CeleryWorkerOptions {
  broker: string;
  backend?: string;
  queues?: string[];
  pool?: 'prefork' | 'threads' | 'solo';
  concurrency?: number;
  maxPriority?: number;
  globalKeyprefix?: string;
  trackStarted?: boolean;
  /** Accept only messages signed with this key/certificate (Celery's `auth` serializer); paths. */
  security?: { key: string; cert: string; store: string };
  /** Append to this record file (shared across restarts); a fresh one by default. */
  recordFile?: string;
  /**
   * The source of module `mtasks` (the Celery app and its tasks), instead of the default one above.
   * It reads the same MT_* environment variables.
   */
  app?: string;
}

/** The folder holding the app module and record files (removed by cleanupCeleryDirs). */
const dirs: string[] = [];

export class CeleryWorker {
  readonly recordFile: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #output = '';

  private constructor(
    readonly options: CeleryWorkerOptions,
    dir: string,
  ) {
    this.recordFile = options.recordFile ?? path.join(dir, `records-${randomBytes(4).toString('hex')}.jsonl`);
    const args = [
      '-m',
      'celery',
      '-A',
      'mtasks',
      'worker',
      '--loglevel=INFO',
      `--pool=${options.pool ?? 'prefork'}`,
      `--concurrency=${options.concurrency ?? 2}`,
      '--without-gossip',
      '--without-mingle',
      '--without-heartbeat',
      '-n',
      `w${randomBytes(4).toString('hex')}@%h`,
      '-Q',
      (options.queues ?? ['celery']).join(','),
    ];
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PYTHONPATH: dir,
      PYTHONUNBUFFERED: '1',
      MT_BROKER: options.broker,
      MT_BACKEND: options.backend ?? '',
      MT_RECORD: this.recordFile,
      MT_TRACK_STARTED: options.trackStarted === false ? '0' : '1',
      MT_MAX_PRIORITY: options.maxPriority ? String(options.maxPriority) : '',
      MT_KEYPREFIX: options.globalKeyprefix ?? '',
      MT_SECURITY_KEY: options.security?.key ?? '',
      MT_SECURITY_CERT: options.security?.cert ?? '',
      MT_SECURITY_STORE: options.security?.store ?? '',
    };
    // Its own process group, so the worker and its pool children can be killed together.
    this.child = spawn(PYTHON, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (d: Buffer) => {
      this.#output = `${this.#output}${d.toString('utf8')}`.slice(-20_000);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => this.child.on('exit', () => resolve()));
  }

  /** Start a worker and wait until it says it is ready. */
  static async start(options: CeleryWorkerOptions): Promise<CeleryWorker> {
    requireCelery();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'metronome-celery-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'mtasks.py'), options.app ?? APP);
    const worker = new CeleryWorker(options, dir);
    const deadline = Date.now() + 20_000;
    while (!/ ready\.\s*$/m.test(worker.#output)) {
      if (worker.child.exitCode !== null || Date.now() > deadline) {
        worker.kill();
        throw new Error(`the Celery worker did not start:\n${worker.#output.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return worker;
  }

  get output(): string {
    return this.#output;
  }

  records(): WorkerRecord[] {
    return this.recordLines().map((l) => JSON.parse(l) as WorkerRecord);
  }

  /** The record file's lines as Python wrote them (for exact numbers, parse them with parseJsonExact). */
  recordLines(): string[] {
    if (!existsSync(this.recordFile)) return [];
    return readFileSync(this.recordFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim());
  }

  starts(): WorkerRecord[] {
    return this.records().filter((r) => r.event === 'start');
  }

  /** SIGKILL the whole process group (worker and pool children): a crash. */
  kill(): void {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-(this.child.pid as number), 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  /** Stop it (warm shutdown is slow with tasks in progress: SIGQUIT the group, then SIGKILL). */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-(this.child.pid as number), 'SIGQUIT');
    } catch {
      this.child.kill('SIGQUIT');
    }
    const timer = setTimeout(() => this.kill(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    // Pool children may outlive the main process by a moment: make sure the group is gone.
    try {
      process.kill(-(this.child.pid as number), 'SIGKILL');
    } catch {}
  }
}

export function cleanupCeleryDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Starts of the same task id more than once (should be none). */
export function duplicates(records: WorkerRecord[]): string[] {
  const seen = new Map<string, number>();
  for (const r of records) if (r.event === 'start') seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
}

/** Pairs of runs of one schedule that overlapped in time (should be none with overlap skip). */
export function overlaps(records: WorkerRecord[], schedule: string): Array<[string, string]> {
  const ends = new Map(records.filter((r) => r.event === 'end').map((r) => [r.id, r.t]));
  const runs = records
    .filter((r) => r.event === 'start' && r.periodic_task_name === schedule)
    .map((r) => ({ id: r.id, start: r.t, end: ends.get(r.id) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.start - b.start);
  const out: Array<[string, string]> = [];
  for (let i = 1; i < runs.length; i++) {
    const prev = runs[i - 1] as (typeof runs)[number];
    const cur = runs[i] as (typeof runs)[number];
    if (cur.start < prev.end) out.push([prev.id, cur.id]);
  }
  return out;
}
