"""Celery beat's timing, replayed on a simulated clock with Celery's own schedule objects.

Used by `beat import ... --check` (docs/migrating.md, "Check the times"): for one entry, the instants
at which celery beat would send it, computed by calling the entry's real `is_due()` (Celery's code,
or django-celery-beat's) with `now` moved by the simulation instead of the wall clock.

How celery beat waits (celery/beat.py, `Scheduler.tick`): it asks the entry at the top of its heap
`is_due(last_run_at)`, gets `(due, seconds_to_next_check)`, sends it when due (and records
`last_run_at = now`), and otherwise sleeps `min(seconds, max_interval)` and asks again. Between two
questions nothing changes, except where Celery's answer depends on `now` itself: its `remaining()`
re-labels the last run's wall-clock time with the current UTC offset once the offset has changed
(a DST change). So the simulation jumps straight to each estimated fire, and only when a UTC offset
change of the clock's zone lies before it does it stop at the first wake-up (a multiple of
`max_interval` after the previous question) after that change and ask again, as beat would.

The entry is simulated alone, at the top of the heap. Among many entries, celery beat asks an entry
only once it reaches the top, so around a DST change its real send time can be later still.
"""

import math
from datetime import datetime, timedelta, timezone

UTC = timezone.utc
ONE_SECOND = timedelta(seconds=1)


class SimClock:
    """`now()` for the schedules: the simulated instant, in the zone (or naive form) they expect."""

    def __init__(self, tz=None, naive=None):
        self.instant = datetime.now(UTC)
        self.tz = tz
        self.naive = naive  # None (aware, in tz), 'utc' or 'local'

    def utc(self):
        return self.instant

    def __call__(self):
        if self.naive == 'utc':
            return self.instant.replace(tzinfo=None)
        if self.naive == 'local':
            return self.instant.astimezone().replace(tzinfo=None)
        return self.instant.astimezone(self.tz or UTC)


def clock_like(sample, fallback_tz):
    """A SimClock that answers in the same form as `sample` (a datetime a real now() returned)."""
    if sample is None:
        return SimClock(fallback_tz)
    if sample.tzinfo is None:
        # Celery reads a naive datetime as UTC; tell utcnow() and now() apart by their value.
        utc_now = datetime.now(UTC).replace(tzinfo=None)
        return SimClock(naive='utc' if abs(sample - utc_now) < timedelta(minutes=1) else 'local')
    return SimClock(sample.tzinfo)


def offset_changes(tz, start, end):
    """The instants in (start, end] at which `tz`'s UTC offset changes, each to the second."""
    if tz is None:
        return []

    def offset(t):
        return t.astimezone(tz).utcoffset()

    changes = []
    step = timedelta(hours=1)
    t = start
    current = offset(t)
    while t < end:
        n = min(t + step, end)
        if offset(n) != current:
            lo, hi = t, n
            while hi - lo > ONE_SECOND:
                mid = lo + (hi - lo) / 2
                if offset(mid) == current:
                    lo = mid
                else:
                    hi = mid
            changes.append(hi)
            current = offset(n)
        t = n
    return changes


class CeleryFailed(Exception):
    """Celery's own code raised at `at` (celery beat itself would stop there); `fires` came before."""

    def __init__(self, fires, at, error):
        super().__init__(error)
        self.fires = fires
        self.at = at
        self.error = error


def simulate(is_due, clock, start, end, max_interval, after_send=None, limit=500_000):
    """The instants in (start, end] at which beat sends the entry, which last ran at `start`.

    `is_due(last_run_at)` is the entry's own check, returning Celery's `(due, seconds)`; `clock` is
    the SimClock its schedule reads `now` from; `after_send()` updates the entry's own state after
    a send (django-celery-beat's run count) and may return False when it will never run again.
    Raises CeleryFailed when Celery's code raises.
    """
    clock.instant = start
    last_run_at = clock()
    changes = offset_changes(clock.tz, start, end + timedelta(days=1)) if clock.naive is None else []
    wake = timedelta(seconds=max_interval)
    fires = []
    t = start
    for _ in range(limit):
        if t > end:
            break
        clock.instant = t
        try:
            due, seconds = is_due(last_run_at)
        except Exception as exc:  # noqa: BLE001 - Celery's own failure is the finding
            raise CeleryFailed(fires, t, f'{type(exc).__name__}: {exc}'.splitlines()[0]) from exc
        if due:
            if t > start:
                fires.append(t)
            last_run_at = clock()
            if after_send is not None and after_send() is False:
                break
        if seconds is None or seconds >= 1e8:  # Celery's "never check again"
            break
        target = t + timedelta(seconds=max(seconds, 1e-6))
        change = next((c for c in changes if c > t), None)
        if change is not None and change < target:
            woken = t + wake * math.ceil((change - t) / wake)
            if woken < target:
                target = woken
        t = target
    return fires


def replay(segments, run):
    """Run `run(start, end)` over each segment; the answer for one entry, with Celery's failure if any."""
    fires = []
    for start, end in segments:
        try:
            fires += run(parse_instant(start), parse_instant(end))
        except CeleryFailed as failed:
            fires += failed.fires
            return {'fires': [iso(t) for t in fires], 'failure': {'at': iso(failed.at), 'error': failed.error}}
    return {'fires': [iso(t) for t in fires]}


def iso(t):
    return t.astimezone(UTC).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def parse_instant(text):
    return datetime.fromisoformat(text.replace('Z', '+00:00')).astimezone(UTC)
