"""When django-celery-beat would send its periodic tasks, for `beat import django-celery-beat --check`.

    python3 metronome_django.py times < {"timezone": "UTC", "tasks": [{"name": ..., "crontab": {...} | null,
        "interval": {...} | null, "solar": {...} | null, "clocked": {...} | null, "start_time": ISO | null,
        "one_off": bool, "segments": [[ISO, ISO], ...]}]}

Each task is rebuilt as an unsaved django-celery-beat model (no database is touched), and its
`.schedule` — the same TzAwareCrontab, celery schedule, solar or clocked object the
DatabaseScheduler uses — is asked `is_due` the way `ModelEntry.is_due` asks it (start_time, one_off,
the last run converted to the app's zone), on a simulated clock, waking every 5 seconds as the
DatabaseScheduler does (metronome_beatsim.py). `timezone` is the project's CELERY_TIMEZONE /
TIME_ZONE. A failure prints {"error": "..."} and exits with status 3.
"""

import json
import sys
from decimal import Decimal
from metronome_beatsim import SimClock, parse_instant, replay, simulate

OUT = sys.stdout
sys.stdout = sys.stderr

# django_celery_beat.schedulers.DEFAULT_MAX_INTERVAL
MAX_INTERVAL = 5.0


def fail(message):
    OUT.write(json.dumps({'error': message}) + '\n')
    sys.exit(3)


def setup(zone):
    try:
        import django
        from django.conf import settings
    except Exception as exc:  # noqa: BLE001
        fail(f'this Python cannot import Django ({type(exc).__name__}: {exc}); pass --python with the interpreter your Django project runs under')
    settings.configure(
        USE_TZ=True,
        TIME_ZONE=zone,
        CELERY_TIMEZONE=zone,
        INSTALLED_APPS=['django_celery_beat'],
        DATABASES={},
    )
    try:
        django.setup()
        from celery import Celery
    except Exception as exc:  # noqa: BLE001
        fail(f'this Python cannot load django-celery-beat ({type(exc).__name__}: {exc}); pass --python with the interpreter your Django project runs under')
    app = Celery('metronome-check', set_as_current=True)
    app.conf.timezone = zone
    return app


def model_schedule(task):
    """The django-celery-beat model of a task's schedule (unsaved) and its `.schedule`."""
    try:
        from zoneinfo import ZoneInfo
    except ImportError:  # Python < 3.9, as django-celery-beat itself falls back
        from backports.zoneinfo import ZoneInfo

    from django_celery_beat import models

    if task.get('crontab'):
        c = task['crontab']
        model = models.CrontabSchedule(
            minute=c['minute'], hour=c['hour'], day_of_week=c['day_of_week'],
            day_of_month=c['day_of_month'], month_of_year=c['month_of_year'], timezone=ZoneInfo(c['timezone']),
        )
    elif task.get('interval'):
        model = models.IntervalSchedule(every=task['interval']['every'], period=task['interval']['period'])
    elif task.get('solar'):
        s = task['solar']
        model = models.SolarSchedule(
            event=s['event'], latitude=Decimal(str(s['latitude'])), longitude=Decimal(str(s['longitude'])),
        )
    elif task.get('clocked'):
        model = models.ClockedSchedule(clocked_time=parse_instant(task['clocked']['clocked_time']))
    else:
        raise ValueError('the task has no schedule')
    return model.schedule


def point_now_at(schedule, clock, app):
    """Make the schedule read the simulated clock in the form its own nowfun answers in."""
    from django_celery_beat.tzcrontab import TzAwareCrontab
    from django_celery_beat.utils import make_aware

    if isinstance(schedule, TzAwareCrontab):
        clock.tz = schedule.tz
        schedule.nowfun = clock
    elif schedule.nowfun is not None:
        # interval and solar: nowfun=lambda: make_aware(now()), Django's zone
        clock.tz = app.timezone
        schedule.nowfun = lambda: make_aware(clock.utc())
    else:
        clock.tz = app.timezone
        schedule.nowfun = clock


def task_times(task, app):
    from celery.utils.time import maybe_make_aware

    schedule = model_schedule(task)
    clock = SimClock(app.timezone)
    point_now_at(schedule, clock, app)
    start_time = parse_instant(task['start_time']) if task.get('start_time') else None
    one_off = bool(task.get('one_off'))
    runs = {'count': 0}

    def is_due(last_run_at):
        # ModelEntry.is_due, without the database: start_time, one_off, then the schedule itself
        # with the last run in the app's zone.
        now = clock.utc()
        if start_time is not None and now < start_time:
            return False, max((start_time - now).total_seconds(), 1)
        if one_off and runs['count'] > 0:
            return False, None
        return schedule.is_due(maybe_make_aware(last_run_at).astimezone(app.timezone))

    def after_send():
        runs['count'] += 1
        return not one_off

    return replay(
        task['segments'],
        lambda start, end: simulate(is_due, clock, start, end, MAX_INTERVAL, after_send) if not (one_off and runs['count']) else [],
    )


def main(argv):
    if len(argv) < 2 or argv[1] != 'times':
        fail('usage: metronome_django.py times < request.json')
    request = json.load(sys.stdin)
    app = setup(request.get('timezone') or 'UTC')
    out = {}
    for task in request['tasks']:
        try:
            out[task['name']] = task_times(task, app)
        except Exception as exc:  # noqa: BLE001 - Celery's own failure is part of the answer
            out[task['name']] = {'error': f'{type(exc).__name__}: {exc}'.splitlines()[0]}
    OUT.write(json.dumps({'entries': out}) + '\n')


if __name__ == '__main__':
    main(sys.argv)
