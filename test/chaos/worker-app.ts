/**
 * The Celery app the chaos test's workers run (module `mtasks`, see test/support/celery-worker.ts):
 * one task, `chaos.work`, that sleeps `kwargs.sleep` seconds and appends a line when it starts and
 * one when it ends to a shared file — the workers' own record of what ran, where and when:
 *
 *   {"e": "start", "t": <epoch s>, "id": <task id>, "s": <schedule>, "sf": <scheduled for>, "pid", "ppid"}
 *   {"e": "end", "t": <epoch s>, "id": <task id>, "how": "ok" | <exception class> | "terminated"}
 *
 * A run killed at its hard time limit still gets its end: billiard sends the pool process SIGTERM
 * (then SIGKILL 0.1 s later); the exception that raises in the task writes the end (or, if none
 * does, the SIGTERM handler below writes it before exiting). A run whose whole
 * worker is killed (kill -9 of the process group) has no end line; the harness knows when it killed
 * it (`ppid` names the worker).
 */
export const CHAOS_WORKER_APP = String.raw`
import json, logging, os, signal, threading, time
from celery import Celery
from celery.signals import after_setup_logger, worker_process_init

app = Celery('mtasks')
app.conf.broker_url = os.environ['MT_BROKER']
app.conf.result_backend = os.environ['MT_BACKEND']
app.conf.task_track_started = True
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
app.conf.result_expires = 7200
app.conf.accept_content = ['json']
app.conf.worker_disable_rate_limits = True

@after_setup_logger.connect
def _quiet(**_):
    # Two INFO lines per task (received, succeeded) cost the worker more than the task at ~100
    # runs a second; the start-up lines ("ready.") stay.
    for name in ('celery.app.trace', 'celery.worker.strategy', 'celery.worker.request'):
        logging.getLogger(name).setLevel(logging.WARNING)

RECORD = os.environ['MT_RECORD']
_lock = threading.Lock()
_current = {}

def _write(entry):
    line = (json.dumps(entry, default=repr) + '\n').encode()
    with _lock:
        fd = os.open(RECORD, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

def _terminated(signum, frame):
    task_id = _current.get('id')
    if task_id:
        _write({'e': 'end', 't': time.time(), 'id': task_id, 'how': 'terminated'})
    os._exit(1)

@worker_process_init.connect
def _install_handler(**_):
    signal.signal(signal.SIGTERM, _terminated)

@app.task(bind=True, name='chaos.work')
def work(self, *args, **kwargs):
    req = self.request
    _current['id'] = req.id
    _write({'e': 'start', 't': time.time(), 'id': req.id, 's': getattr(req, 'periodic_task_name', None),
            'sf': getattr(req, 'scheduled_for', None), 'pid': os.getpid(), 'ppid': os.getppid()})
    how = 'ok'
    try:
        if kwargs.get('sleep'):
            time.sleep(kwargs['sleep'])
    except BaseException as error:
        how = type(error).__name__
        raise
    finally:
        _current.pop('id', None)
        _write({'e': 'end', 't': time.time(), 'id': req.id, 'how': how})
    return 'ok'
`;
