"""The celery beat side of bench/compare: a Celery app whose beat_schedule holds BENCH_K entries.

BENCH_MODE=interval: every entry every BENCH_EVERY seconds (default 1.0).
BENCH_MODE=herd: every entry crontab() (every minute), all due at the same minute boundary.

The scheduler is celery beat's own PersistentScheduler; the subclass only adds two headers to each
message (the entry's name, and the instant celery beat itself computed it due: now plus the
remaining time it reports for the entry's last run), so the consumer can measure due -> arrival
the same way it does for Metronome's `scheduled_for` header. Nothing else is changed.
"""
import os
from datetime import timedelta

from celery import Celery
from celery.beat import PersistentScheduler
from celery.schedules import crontab

K = int(os.environ.get('BENCH_K', '100'))
MODE = os.environ.get('BENCH_MODE', 'interval')
EVERY = float(os.environ.get('BENCH_EVERY', '1.0'))

app = Celery('bench_beat', broker=os.environ['BENCH_BROKER'])
app.conf.timezone = 'UTC'
app.conf.enable_utc = True
every = crontab() if MODE == 'herd' else timedelta(seconds=EVERY)
app.conf.beat_schedule = {
    f'cb-{i}': {'task': 'bench.tick', 'schedule': every, 'args': (i,)} for i in range(K)
}


class BenchScheduler(PersistentScheduler):
    _bench_headers = None

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        now = entry.schedule.now()
        due = now + entry.schedule.remaining_estimate(entry.last_run_at)
        self._bench_headers = {'bench_entry': entry.name, 'bench_due_ms': round(due.timestamp() * 1000)}
        return super().apply_async(entry, producer=producer, advance=advance, **kwargs)

    def send_task(self, *args, **kwargs):
        kwargs['headers'] = self._bench_headers
        return super().send_task(*args, **kwargs)
